// Llama / Mistral (GGUF architecture "llama"): a pure-transformer schedule of
// RMSNorm -> GQA attention with RoPE (adjacent-pair rotation, since llama.cpp's
// converter permutes q/k rows) -> RMSNorm -> SwiGLU.
#include <cmath>
#include <memory>

#include "blocks/feed_forward.h"
#include "core/error.h"
#include "mixers/attention.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

RopeParams read_rope(const gguf::File& f, const WeightLoader& w, int64_t head_dim) {
  RopeParams rope;
  rope.mode = RopeMode::kNormal;
  rope.n_dims = w.u("rope.dimension_count", head_dim);
  rope.freq_base = w.f("rope.freq_base", 10000.0f);
  const std::string scaling = f.get_string(f.architecture() + ".rope.scaling.type", "none");
  const float factor = w.f("rope.scaling.factor", 1.0f);
  if (scaling == "linear") {
    rope.freq_scale = factor > 0 ? 1.0f / factor : 1.0f;
  } else if (scaling == "yarn") {
    rope.freq_scale = factor > 0 ? 1.0f / factor : 1.0f;
    rope.ext_factor = 1.0f;
    rope.attn_factor = w.f("rope.scaling.attn_factor", 1.0f);
    rope.n_ctx_orig = w.u("rope.scaling.original_context_length", w.u("context_length"));
  } else if (scaling != "none" && !scaling.empty()) {
    throw Error(f.label() + ": RoPE scaling type '" + scaling +
                "' is not supported (supported: none, linear, yarn)");
  }
  if (rope.n_dims <= 0 || rope.n_dims > head_dim || rope.n_dims % 2 != 0 || rope.n_dims > 1024) {
    throw Error(f.label() + ": rope.dimension_count " + std::to_string(rope.n_dims) +
                " is invalid for head dimension " + std::to_string(head_dim));
  }
  return rope;
}

}  // namespace

std::unique_ptr<Model> build_llama(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "llama";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_head = pre.u("attention.head_count");
  hp.n_head_kv = pre.u("attention.head_count_kv", hp.n_head);
  hp.n_ff = pre.u("feed_forward_length");
  hp.n_ctx_train = pre.u("context_length", 2048);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-5f);
  hp.sliding_window = pre.u("attention.sliding_window", 0);
  if (hp.n_head <= 0 || hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0 || hp.n_layer <= 0) {
    throw Error(file.label() + ": invalid head counts (" + std::to_string(hp.n_head) + " heads, " +
                std::to_string(hp.n_head_kv) + " KV heads) or layer count");
  }
  hp.head_dim = pre.u("attention.key_length", hp.n_embd / hp.n_head);
  hp.rope = read_rope(file, pre, hp.head_dim);
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd, d = hp.head_dim;
  // llama3-style scaling ships per-dimension frequency divisors as a tensor.
  RopeParams rope = hp.rope;
  if (w.has("rope_freqs.weight")) {
    const auto& t = model->file().tensor("rope_freqs.weight");
    if (t.type != GgmlType::F32 || static_cast<int64_t>(t.n_elements) != rope.n_dims / 2) {
      throw Error(model->file().label() + ": rope_freqs.weight must be F32 with " +
                  std::to_string(rope.n_dims / 2) + " elements");
    }
    rope.freq_factors = reinterpret_cast<const float*>(t.data.data());
  }
  ref::AttentionShape shape;
  shape.n_head = hp.n_head;
  shape.n_head_kv = hp.n_head_kv;
  shape.head_dim = d;
  shape.scale = 1.0 / std::sqrt(static_cast<double>(d));
  shape.window = hp.sliding_window;

  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    AttentionWeights aw{w.matrix(p + "attn_q.weight", e, hp.n_head * d),
                        w.matrix(p + "attn_k.weight", e, hp.n_head_kv * d),
                        w.matrix(p + "attn_v.weight", e, hp.n_head_kv * d),
                        w.matrix(p + "attn_output.weight", hp.n_head * d, e)};
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    layer.mixer = std::make_unique<SoftmaxAttention>(aw, shape, rope);
    layer.ffn_norm = w.vector(p + "ffn_norm.weight", e);
    layer.ffn = std::make_unique<GatedFeedForward>(
        w.matrix(p + "ffn_gate.weight", e, hp.n_ff), w.matrix(p + "ffn_up.weight", e, hp.n_ff),
        w.matrix(p + "ffn_down.weight", hp.n_ff, e), GateActivation::kSilu);
    model->add_layer(std::move(layer));
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab));
  return model;
}

}  // namespace ma
