// RWKV-7 (GGUF architecture "rwkv7", llama.cpp's tensor names and keys).
// LayerNorm (with bias) everywhere: ln0 on the embeddings (token_embd_norm),
// then per layer
//   x += time_mix(LN(x, attn_norm));  x += channel_mix(LN(x, attn_norm_2))
// and LN(output_norm) before the head. Each layer keeps one recurrent slot:
// both token shifts and the wkv state (mixers/rwkv7.h).
#include <memory>

#include "core/error.h"
#include "mixers/rwkv7.h"
#include "mixers/rwkv7_channel_mix.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

Rwkv7TimeMixWeights load_time_mix(const WeightLoader& w, const std::string& p, const Rwkv7Shape& s,
                                  bool first_layer) {
  const int64_t c = s.n_embd;
  Rwkv7TimeMixWeights tm;
  tm.lerp = w.vector(p + "time_mix_lerp_fused.weight", kLerpCount * c);
  tm.receptance = w.matrix(p + "time_mix_receptance.weight", c, c);
  tm.key = w.matrix(p + "time_mix_key.weight", c, c);
  tm.value = w.matrix(p + "time_mix_value.weight", c, c);
  tm.output = w.matrix(p + "time_mix_output.weight", c, c);
  tm.w0 = w.vector(p + "time_mix_w0.weight", c);
  tm.w1 = w.matrix(p + "time_mix_w1.weight", c, s.rank_decay);
  tm.w2 = w.matrix(p + "time_mix_w2.weight", s.rank_decay, c);
  tm.a0 = w.vector(p + "time_mix_a0.weight", c);
  tm.a1 = w.matrix(p + "time_mix_a1.weight", c, s.rank_iclr);
  tm.a2 = w.matrix(p + "time_mix_a2.weight", s.rank_iclr, c);
  if (!first_layer) {  // the first layer's v0/v1/v2 are in the file but unused
    tm.v0 = w.vector(p + "time_mix_v0.weight", c);
    tm.v1 = w.matrix(p + "time_mix_v1.weight", c, s.rank_value);
    tm.v2 = w.matrix(p + "time_mix_v2.weight", s.rank_value, c);
  }
  tm.g1 = w.matrix(p + "time_mix_g1.weight", c, s.rank_gate);
  tm.g2 = w.matrix(p + "time_mix_g2.weight", s.rank_gate, c);
  tm.k_k = w.vector(p + "time_mix_k_k.weight", c);
  tm.k_a = w.vector(p + "time_mix_k_a.weight", c);
  tm.r_k = w.vector(p + "time_mix_r_k.weight", c);
  tm.ln_w = w.vector(p + "time_mix_ln.weight", c);
  tm.ln_b = w.vector(p + "time_mix_ln.bias", c);
  return tm;
}

}  // namespace

std::unique_ptr<Model> build_rwkv7(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "rwkv7";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_ff = pre.u("feed_forward_length");
  hp.n_ctx_train = pre.u("context_length", 1 << 20);
  hp.norm = NormKind::kLayer;
  hp.norm_eps = pre.f("attention.layer_norm_epsilon", 1e-5f);
  Rwkv7Shape s;
  s.n_embd = hp.n_embd;
  s.head_size = pre.u("wkv.head_size");
  s.rank_decay = pre.u("attention.decay_lora_rank");
  s.rank_iclr = pre.u("attention.iclr_lora_rank");
  s.rank_value = pre.u("attention.value_residual_mix_lora_rank");
  s.rank_gate = pre.u("attention.gate_lora_rank");
  if (const int64_t shifts = pre.u("token_shift_count", 2); shifts != 2) {
    throw Error(file.label() + ": rwkv7.token_shift_count is " + std::to_string(shifts) +
                ", only 2 (time and channel mix) is supported");
  }
  if (hp.n_layer <= 0 || hp.n_embd <= 0 || hp.n_ff <= 0 || s.head_size <= 0 ||
      hp.n_embd % s.head_size != 0) {
    throw Error(file.label() + ": invalid block_count, embedding_length, feed_forward_length " +
                "or wkv.head_size (" + std::to_string(hp.n_layer) + ", " +
                std::to_string(hp.n_embd) + ", " + std::to_string(hp.n_ff) + ", " +
                std::to_string(s.head_size) + ")");
  }
  hp.head_dim = s.head_size;
  hp.n_head = hp.n_embd / s.head_size;
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd;
  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  model->set_embedding_norm(w.vector("token_embd_norm.weight", e),
                            w.vector("token_embd_norm.bias", e));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    auto time_mix = std::make_unique<Rwkv7TimeMix>(load_time_mix(w, p, s, i == 0), s, i == 0);
    const Rwkv7SlotLayout layout = time_mix->layout();
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    layer.mixer_norm_bias = w.vector(p + "attn_norm.bias", e);
    layer.mixer = std::move(time_mix);
    layer.ffn_norm = w.vector(p + "attn_norm_2.weight", e);
    layer.ffn_norm_bias = w.vector(p + "attn_norm_2.bias", e);
    layer.ffn = std::make_unique<Rwkv7ChannelMix>(
        w.vector(p + "channel_mix_lerp_k.weight", e),
        w.matrix(p + "channel_mix_key.weight", e, hp.n_ff),
        w.matrix(p + "channel_mix_value.weight", hp.n_ff, e), layout);
    model->add_layer(std::move(layer));
  }
  model->set_head(w.vector("output_norm.weight", e), w.matrix("output.weight", e, hp.n_vocab));
  model->set_output_norm_bias(w.vector("output_norm.bias", e));
  return model;
}

}  // namespace ma
