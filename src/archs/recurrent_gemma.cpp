// RecurrentGemma / Griffin (GGUF architecture "recurrentgemma", our own
// layout: docs/gguf-architectures.md). Each layer is RMSNorm -> temporal
// block -> residual -> RMSNorm -> GeGLU MLP (with biases) -> residual; the
// temporal block is the RG-LRU recurrent block or local sliding-window MQA
// attention with RoPE on the first half of each head (neox-style rotation, q/k
// rows as Hugging Face stores them), whichever tensors the layer has
// (transformers' block_types, usually recurrent, recurrent, attention). The
// converter has folded Gemma's (1 + w) into the norm weights. The embedding is
// scaled by sqrt(n_embd) rounded to bfloat16, as transformers' normalizer
// buffer is; the logits are soft-capped.
#include <cmath>
#include <memory>

#include "blocks/feed_forward.h"
#include "core/error.h"
#include "core/fp16.h"
#include "mixers/attention.h"
#include "mixers/rglru.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

// A small tensor of exact ggml shape, as floats.
std::vector<float> table(const gguf::File& f, const std::string& name,
                         const std::vector<uint64_t>& shape) {
  const gguf::TensorInfo& t = f.tensor(name);
  if (t.shape != shape) {
    std::string want;
    for (uint64_t d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
    throw Error(f.label() + ": tensor '" + name + "' does not have the shape {" + want + "}");
  }
  return WeightLoader(f).vector(name, static_cast<int64_t>(t.n_elements));
}

std::unique_ptr<SequenceBlock> recurrent_block(const gguf::File& f, const std::string& p,
                                               const RgLruShape& s) {
  const WeightLoader w(f);
  const uint64_t wd = static_cast<uint64_t>(s.width);
  const uint64_t b = wd / static_cast<uint64_t>(s.n_head);
  RgLruWeights rw;
  rw.x_proj = w.matrix(p + "rglru_x.weight", s.n_embd, s.width);
  rw.x_bias = w.vector(p + "rglru_x.bias", s.width);
  rw.y_proj = w.matrix(p + "rglru_y.weight", s.n_embd, s.width);
  rw.y_bias = w.vector(p + "rglru_y.bias", s.width);
  rw.conv = table(f, p + "rglru_conv1d.weight", {static_cast<uint64_t>(s.d_conv), wd});
  rw.conv_bias = w.vector(p + "rglru_conv1d.bias", s.width);
  rw.gate_x = table(f, p + "rglru_gate_x.weight", {b, b, static_cast<uint64_t>(s.n_head)});
  rw.gate_x_bias = w.vector(p + "rglru_gate_x.bias", s.width);
  rw.gate_a = table(f, p + "rglru_gate_a.weight", {b, b, static_cast<uint64_t>(s.n_head)});
  rw.gate_a_bias = w.vector(p + "rglru_gate_a.bias", s.width);
  rw.a_param = table(f, p + "rglru_a.weight", {wd});
  rw.out = w.matrix(p + "rglru_out.weight", s.width, s.n_embd);
  rw.out_bias = w.vector(p + "rglru_out.bias", s.n_embd);
  return std::make_unique<RgLruMixer>(std::move(rw), s);
}

std::unique_ptr<SequenceBlock> attention_block(const gguf::File& f, const std::string& p,
                                               const Hparams& hp) {
  const WeightLoader w(f);
  const int64_t e = hp.n_embd, d = hp.head_dim;
  AttentionWeights aw{w.matrix(p + "attn_q.weight", e, hp.n_head * d),
                      w.matrix(p + "attn_k.weight", e, hp.n_head_kv * d),
                      w.matrix(p + "attn_v.weight", e, hp.n_head_kv * d),
                      w.matrix(p + "attn_output.weight", hp.n_head * d, e),
                      w.vector(p + "attn_output.bias", e)};
  ref::AttentionShape shape;
  shape.n_head = hp.n_head;
  shape.n_head_kv = hp.n_head_kv;
  shape.head_dim = d;
  shape.scale = 1.0 / std::sqrt(static_cast<double>(d));
  shape.window = hp.sliding_window;
  return std::make_unique<SoftmaxAttention>(std::move(aw), shape, hp.rope);
}

}  // namespace

std::unique_ptr<Model> build_recurrent_gemma(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "recurrentgemma";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_head = pre.u("attention.head_count");
  hp.n_head_kv = pre.u("attention.head_count_kv", hp.n_head);
  hp.n_ff = pre.u("feed_forward_length");
  hp.n_ctx_train = pre.u("context_length", 8192);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-6f);
  hp.sliding_window = pre.u("attention.sliding_window");
  if (hp.n_embd <= 0 || hp.n_layer <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0 ||
      hp.n_head % hp.n_head_kv != 0 || hp.sliding_window <= 0) {
    throw Error(file.label() + ": invalid embedding_length, block_count, head counts (" +
                std::to_string(hp.n_head) + " heads, " + std::to_string(hp.n_head_kv) +
                " KV heads) or attention.sliding_window");
  }
  hp.head_dim = pre.u("attention.key_length", hp.n_embd / hp.n_head);
  hp.rope.mode = RopeMode::kNeox;
  hp.rope.n_dims = pre.u("rope.dimension_count", hp.head_dim / 2);
  hp.rope.freq_base = pre.f("rope.freq_base", 10000.0f);
  if (hp.head_dim <= 0 || hp.rope.n_dims <= 0 || hp.rope.n_dims > hp.head_dim ||
      hp.rope.n_dims % 2 != 0 || hp.rope.n_dims > 1024) {
    throw Error(file.label() + ": rope.dimension_count " + std::to_string(hp.rope.n_dims) +
                " is invalid for head dimension " + std::to_string(hp.head_dim));
  }
  RgLruShape lru;
  lru.n_embd = hp.n_embd;
  lru.width = pre.u("rglru.width", hp.n_embd);
  lru.n_head = pre.u("rglru.head_count", hp.n_head);
  lru.d_conv = pre.u("rglru.conv_kernel", 4);
  const float softcap = pre.f("final_logit_softcapping", 0.0f);
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const gguf::File& f = model->file();
  const WeightLoader w(f);
  const int64_t e = hp.n_embd;
  const float embd_scale = bf16_to_fp32(fp32_to_bf16(std::sqrt(static_cast<float>(e))));
  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab), embd_scale);
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const bool attention = w.has(p + "attn_q.weight");
    if (attention == w.has(p + "rglru_a.weight")) {
      throw Error(f.label() + ": layer " + std::to_string(i) +
                  (attention ? " has both attention and RG-LRU tensors"
                             : " has neither attention (attn_q) nor RG-LRU (rglru_a) tensors"));
    }
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    layer.mixer = attention ? attention_block(f, p, hp) : recurrent_block(f, p, lru);
    layer.ffn_norm = w.vector(p + "ffn_norm.weight", e);
    FeedForwardBiases biases{w.vector(p + "ffn_gate.bias", hp.n_ff),
                             w.vector(p + "ffn_up.bias", hp.n_ff),
                             w.vector(p + "ffn_down.bias", e)};
    layer.ffn = std::make_unique<GatedFeedForward>(
        w.matrix(p + "ffn_gate.weight", e, hp.n_ff), w.matrix(p + "ffn_up.weight", e, hp.n_ff),
        w.matrix(p + "ffn_down.weight", hp.n_ff, e), GateActivation::kGeluTanh, std::move(biases));
    model->add_layer(std::move(layer));
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab), softcap);
  return model;
}

}  // namespace ma
