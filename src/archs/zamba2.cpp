// Zamba-2 (GGUF architecture "zamba2", our own layout; docs/gguf-architectures.md).
// Every layer is a Mamba-2 layer; the hybrid ones (those with
// blk.N.shared_out.weight) first run a shared transformer block on
// concat(residual, embeddings) with the layer's own LoRA adapters and add
// its projection to the Mamba-2 input (mixers/zamba2_hybrid.h). Hybrid layer
// j (in depth order) uses shared block j % zamba2.shared_block_count.
#include <cmath>
#include <memory>

#include "core/error.h"
#include "mixers/mamba2.h"
#include "mixers/zamba2_hybrid.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

std::vector<float> table(const WeightLoader& w, const std::string& name, int64_t in, int64_t out) {
  w.matrix(name, in, out);  // checks the shape
  return w.vector(name, in * out);
}

std::unique_ptr<Mamba2Mixer> load_mamba2(const WeightLoader& w, const std::string& p,
                                         const Mamba2Shape& s) {
  Mamba2Weights mw;
  mw.in = w.matrix(p + "ssm_in.weight", s.n_embd, s.in_dim());
  mw.conv = table(w, p + "ssm_conv1d.weight", s.d_conv, s.conv_dim());
  mw.conv_bias = w.vector(p + "ssm_conv1d.bias", s.conv_dim());
  mw.dt_bias = w.vector(p + "ssm_dt.bias", s.n_head);
  mw.a = table(w, p + "ssm_a", 1, s.n_head);
  mw.d = table(w, p + "ssm_d", 1, s.n_head);
  mw.norm = table(w, p + "ssm_norm.weight", s.d_inner / s.n_group, s.n_group);
  mw.out = w.matrix(p + "ssm_out.weight", s.d_inner, s.n_embd);
  return std::make_unique<Mamba2Mixer>(std::move(mw), s);
}

LowRankAdapter load_adapter(const WeightLoader& w, const std::string& name, int64_t in,
                            int64_t rank, int64_t out) {
  if (!w.has(name + "_lora_a.weight")) return {};
  return {w.matrix(name + "_lora_a.weight", in, rank),
          w.matrix(name + "_lora_b.weight", rank, out)};
}

Zamba2Activation activation(const gguf::File& f) {
  const std::string act = f.get_string("zamba2.feed_forward_activation", "gelu");
  if (act == "gelu") return Zamba2Activation::kGelu;
  if (act == "gelu_tanh") return Zamba2Activation::kGeluTanh;
  if (act == "silu") return Zamba2Activation::kSilu;
  throw Error(f.label() + ": zamba2.feed_forward_activation '" + act +
              "' is not one of gelu, gelu_tanh, silu");
}

}  // namespace

std::unique_ptr<Model> build_zamba2(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "zamba2";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_head = pre.u("attention.head_count");
  hp.n_head_kv = pre.u("attention.head_count_kv", hp.n_head);
  hp.n_ff = pre.u("feed_forward_length");
  hp.n_ctx_train = pre.u("context_length", 4096);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-5f);
  const int64_t n_shared = pre.u("shared_block_count", 1);
  const int64_t rank = pre.u("adapter_rank", 0);
  if (hp.n_layer <= 0 || hp.n_embd <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0 ||
      hp.n_head % hp.n_head_kv != 0 || (2 * hp.n_embd) % hp.n_head != 0 || n_shared <= 0) {
    throw Error(file.label() +
                ": invalid block_count, embedding_length, head_count, head_count_kv or "
                "shared_block_count");
  }
  hp.head_dim = pre.u("attention.key_length", 2 * hp.n_embd / hp.n_head);
  Mamba2Shape s;
  s.n_embd = hp.n_embd;
  s.d_conv = pre.u("ssm.conv_kernel");
  s.d_inner = pre.u("ssm.inner_size");
  s.d_state = pre.u("ssm.state_size");
  s.n_head = pre.u("ssm.time_step_rank");
  s.n_group = pre.u("ssm.group_count", 1);
  s.norm_eps = 1e-5f;  // transformers fixes the gated norm's epsilon
  if (s.n_group <= 0 || s.n_head <= 0 || s.d_inner % s.n_head != 0 || s.d_inner % s.n_group != 0) {
    throw Error(file.label() + ": invalid ssm.inner_size, ssm.time_step_rank or ssm.group_count");
  }
  Zamba2HybridShape hs;
  hs.n_embd = hp.n_embd;
  hs.n_ff = hp.n_ff;
  hs.attention.n_head = hp.n_head;
  hs.attention.n_head_kv = hp.n_head_kv;
  hs.attention.head_dim = hp.head_dim;
  // Zamba-2 scales scores by 1/sqrt(head_dim / 2): its heads are twice as
  // wide as n_embd / n_head because the input is twice as wide.
  hs.attention.scale = 1.0 / std::sqrt(static_cast<double>(hp.head_dim) / 2.0);
  hs.rope.mode = RopeMode::kNeox;
  hs.rope.n_dims = pre.u("rope.dimension_count", 0);
  hs.rope.freq_base = pre.f("rope.freq_base", 10000.0f);
  hs.activation = activation(file);
  hs.norm_eps = hp.norm_eps;
  hp.rope = hs.rope;
  if (hs.rope.n_dims < 0 || hs.rope.n_dims > hp.head_dim || hs.rope.n_dims % 2 != 0) {
    throw Error(file.label() + ": rope.dimension_count must be even and at most the head size");
  }
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd, e2 = 2 * e, ff = hp.n_ff;
  const int64_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  std::vector<std::shared_ptr<Zamba2SharedBlock>> shared;
  for (int64_t b = 0; b < n_shared; ++b) {
    const std::string p = "shared." + std::to_string(b) + ".";
    auto block = std::make_shared<Zamba2SharedBlock>();
    block->attn_norm = w.vector(p + "attn_norm.weight", e2);
    block->wq = w.matrix(p + "attn_q.weight", e2, q_dim);
    block->wk = w.matrix(p + "attn_k.weight", e2, kv_dim);
    block->wv = w.matrix(p + "attn_v.weight", e2, kv_dim);
    block->wo = w.matrix(p + "attn_output.weight", q_dim, e);
    block->ffn_norm = w.vector(p + "ffn_norm.weight", e);
    block->gate_up = w.matrix(p + "ffn_gate_up.weight", e, 2 * ff);
    block->down = w.matrix(p + "ffn_down.weight", ff, e);
    shared.push_back(std::move(block));
  }

  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  int64_t applications = 0;
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    Layer layer;
    if (!w.has(p + "shared_out.weight")) {
      layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
      layer.mixer = load_mamba2(w, p, s);
      model->add_layer(std::move(layer));
      continue;
    }
    const int64_t b = applications % n_shared;
    Zamba2Adapters ad;
    ad.q = load_adapter(w, p + "attn_q", e2, rank, q_dim);
    ad.k = load_adapter(w, p + "attn_k", e2, rank, kv_dim);
    ad.v = load_adapter(w, p + "attn_v", e2, rank, kv_dim);
    ad.gate_up = load_adapter(w, p + "ffn_gate_up", e, rank, 2 * ff);
    layer.mixer = std::make_unique<Zamba2HybridLayer>(
        shared[static_cast<size_t>(b)], applications < n_shared, ad,
        w.matrix(p + "shared_out.weight", e, e), w.vector(p + "attn_norm.weight", e),
        load_mamba2(w, p, s), hs);
    ++applications;
    model->add_layer(std::move(layer));  // no mixer_norm: the layer normalises itself
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab));
  return model;
}

}  // namespace ma
