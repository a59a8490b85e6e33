// Jamba (GGUF architecture "jamba", llama.cpp's names and keys): a hybrid of
// Mamba-1 layers and attention layers. The per-layer key
// attention.head_count_kv places them: 0 marks a Mamba layer. Every layer has
// an FFN, a mixture of experts where blk.N.ffn_gate_inp (the router) exists
// and a dense SwiGLU elsewhere. Attention uses no position encoding at all:
// the Mamba layers carry the order. The Mamba mixers RMS-normalise dt, B and
// C with learned weights.
#include <cmath>
#include <memory>

#include "archs/mamba_layer.h"
#include "blocks/feed_forward.h"
#include "blocks/moe_feed_forward.h"
#include "core/error.h"
#include "mixers/attention.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

std::unique_ptr<FeedForward> load_ffn(const WeightLoader& w, const std::string& p, int64_t e,
                                      int64_t ff, int64_t n_expert, int64_t n_used) {
  if (!w.has(p + "ffn_gate_inp.weight")) {
    return std::make_unique<GatedFeedForward>(
        w.matrix(p + "ffn_gate.weight", e, ff), w.matrix(p + "ffn_up.weight", e, ff),
        w.matrix(p + "ffn_down.weight", ff, e), GateActivation::kSilu);
  }
  MoeWeights mw;
  mw.router = w.matrix(p + "ffn_gate_inp.weight", e, n_expert);
  mw.gate = w.stacked(p + "ffn_gate_exps.weight", e, ff, n_expert);
  mw.up = w.stacked(p + "ffn_up_exps.weight", e, ff, n_expert);
  mw.down = w.stacked(p + "ffn_down_exps.weight", ff, e, n_expert);
  return std::make_unique<MoeFeedForward>(std::move(mw), MoeRouting{n_used, false});
}

}  // namespace

std::unique_ptr<Model> build_jamba(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "jamba";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_head = pre.u("attention.head_count");
  hp.n_ff = pre.u("feed_forward_length");
  hp.n_ctx_train = pre.u("context_length", 1 << 20);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-6f);
  if (hp.n_layer <= 0 || hp.n_embd <= 0 || hp.n_head <= 0 || hp.n_embd % hp.n_head != 0) {
    throw Error(file.label() + ": invalid block_count, embedding_length or head_count");
  }
  const std::vector<int64_t> kv_heads = pre.per_layer("attention.head_count_kv", hp.n_layer);
  for (int64_t kv : kv_heads) {
    if (kv != 0 && (kv < 0 || hp.n_head % kv != 0)) {
      throw Error(file.label() + ": head_count_kv " + std::to_string(kv) +
                  " does not divide head_count " + std::to_string(hp.n_head));
    }
    if (kv != 0) hp.n_head_kv = kv;
  }
  hp.head_dim = hp.n_embd / hp.n_head;
  const int64_t n_expert = pre.u("expert_count", 0);
  const int64_t n_used = pre.u("expert_used_count", 0);
  MambaShape s = read_mamba_shape(pre, hp.n_embd, hp.norm_eps);
  s.dt_b_c_rms = true;  // with the weights ssm_{dt,b,c}_norm
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd, d = hp.head_dim;
  RopeParams no_rope;  // n_dims 0: positions enter only through the Mamba layers
  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const int64_t kv = kv_heads[static_cast<size_t>(i)];
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    if (kv == 0) {
      layer.mixer = std::make_unique<MambaMixer>(load_mamba_weights(w, p, s), s);
    } else {
      ref::AttentionShape shape;
      shape.n_head = hp.n_head;
      shape.n_head_kv = kv;
      shape.head_dim = d;
      shape.scale = 1.0 / std::sqrt(static_cast<double>(d));
      AttentionWeights aw{w.matrix(p + "attn_q.weight", e, hp.n_head * d),
                          w.matrix(p + "attn_k.weight", e, kv * d),
                          w.matrix(p + "attn_v.weight", e, kv * d),
                          w.matrix(p + "attn_output.weight", hp.n_head * d, e)};
      layer.mixer = std::make_unique<SoftmaxAttention>(aw, shape, no_rope);
    }
    layer.ffn_norm = w.vector(p + "ffn_norm.weight", e);
    layer.ffn = load_ffn(w, p, e, hp.n_ff, n_expert, n_used);
    model->add_layer(std::move(layer));
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab));
  return model;
}

}  // namespace ma
