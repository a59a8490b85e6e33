// Mamba-1 and Falcon-Mamba (GGUF architecture "mamba", llama.cpp's names and
// keys): every layer is RMSNorm -> selective SSM mixer -> residual, no FFN. The
// converter has already turned A_log into A = -exp(A_log) (ssm_a) and
// squeezed the conv1d weight to {d_conv, d_inner}.
#include <memory>

#include "core/error.h"
#include "mixers/mamba.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {
namespace {

// A small F32-convertible tensor of exact 2-D shape {in, out}, as floats.
std::vector<float> table(const WeightLoader& w, const std::string& name, int64_t in, int64_t out) {
  w.matrix(name, in, out);  // checks the shape
  return w.vector(name, in * out);
}

}  // namespace

std::unique_ptr<Model> build_mamba(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "mamba";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_ctx_train = pre.u("context_length", 1 << 20);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-5f);
  MambaShape s;
  s.n_embd = hp.n_embd;
  s.d_conv = pre.u("ssm.conv_kernel");
  s.d_inner = pre.u("ssm.inner_size");
  s.d_state = pre.u("ssm.state_size");
  s.dt_rank = pre.u("ssm.time_step_rank");
  s.dt_b_c_rms = file.get_bool("mamba.ssm.dt_b_c_rms", false);  // Falcon-Mamba
  s.norm_eps = hp.norm_eps;  // llama.cpp normalises dt/B/C with the layer norm's epsilon
  if (hp.n_layer <= 0 || hp.n_embd <= 0) {
    throw Error(file.label() + ": invalid block_count or embedding_length");
  }
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd, di = s.d_inner, ns = s.d_state, r = s.dt_rank;
  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    MambaWeights mw;
    mw.in = w.matrix(p + "ssm_in.weight", e, 2 * di);
    mw.conv = table(w, p + "ssm_conv1d.weight", s.d_conv, di);
    mw.conv_bias = w.vector(p + "ssm_conv1d.bias", di);
    mw.x_proj = w.matrix(p + "ssm_x.weight", di, r + 2 * ns);
    mw.dt_proj = w.matrix(p + "ssm_dt.weight", r, di);
    mw.dt_bias = w.vector(p + "ssm_dt.bias", di);
    mw.a = table(w, p + "ssm_a", ns, di);
    mw.d = w.vector(p + "ssm_d", di);
    mw.out = w.matrix(p + "ssm_out.weight", di, e);
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    layer.mixer = std::make_unique<MambaMixer>(std::move(mw), s);
    model->add_layer(std::move(layer));
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab));
  return model;
}

}  // namespace ma
