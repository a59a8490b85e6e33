// Mamba-2 (GGUF architecture "mamba2", llama.cpp's names and keys): every
// layer is RMSNorm -> SSD mixer -> residual, with no FFN. ssm.time_step_rank
// holds the head count; ssm_a and ssm_d are {1, H}, ssm_norm {d_inner/G, G}.
#include <memory>

#include "core/error.h"
#include "mixers/mamba2.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

// A small tensor of exact 2-D shape {in, out}, as floats.
std::vector<float> table(const WeightLoader& w, const std::string& name, int64_t in, int64_t out) {
  w.matrix(name, in, out);  // checks the shape
  return w.vector(name, in * out);
}

}  // namespace

std::unique_ptr<Model> build_mamba2(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "mamba2";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_ctx_train = pre.u("context_length", 1 << 20);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-5f);
  Mamba2Shape s;
  s.n_embd = hp.n_embd;
  s.d_conv = pre.u("ssm.conv_kernel");
  s.d_inner = pre.u("ssm.inner_size");
  s.d_state = pre.u("ssm.state_size");
  s.n_head = pre.u("ssm.time_step_rank");
  s.n_group = pre.u("ssm.group_count", 1);
  s.norm_eps = hp.norm_eps;
  if (hp.n_layer <= 0 || hp.n_embd <= 0 || s.n_group <= 0 || s.d_inner % s.n_group != 0) {
    throw Error(file.label() + ": invalid block_count, embedding_length or ssm.group_count");
  }
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd, cd = s.conv_dim();
  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    Mamba2Weights mw;
    mw.in = w.matrix(p + "ssm_in.weight", e, s.in_dim());
    mw.conv = table(w, p + "ssm_conv1d.weight", s.d_conv, cd);
    mw.conv_bias = w.vector(p + "ssm_conv1d.bias", cd);
    mw.dt_bias = w.vector(p + "ssm_dt.bias", s.n_head);
    mw.a = table(w, p + "ssm_a", 1, s.n_head);
    mw.d = table(w, p + "ssm_d", 1, s.n_head);
    mw.norm = table(w, p + "ssm_norm.weight", s.d_inner / s.n_group, s.n_group);
    mw.out = w.matrix(p + "ssm_out.weight", s.d_inner, e);
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    layer.mixer = std::make_unique<Mamba2Mixer>(std::move(mw), s);
    model->add_layer(std::move(layer));
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab));
  return model;
}

}  // namespace ma
