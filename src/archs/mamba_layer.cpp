#include "archs/mamba_layer.h"

namespace ma {
namespace {

// A small F32-convertible tensor of exact 2-D shape {in, out}, as floats.
std::vector<float> table(const WeightLoader& w, const std::string& name, int64_t in, int64_t out) {
  w.matrix(name, in, out);  // checks the shape
  return w.vector(name, in * out);
}

}  // namespace

MambaShape read_mamba_shape(const WeightLoader& w, int64_t n_embd, float norm_eps) {
  MambaShape s;
  s.n_embd = n_embd;
  s.d_conv = w.u("ssm.conv_kernel");
  s.d_inner = w.u("ssm.inner_size");
  s.d_state = w.u("ssm.state_size");
  s.dt_rank = w.u("ssm.time_step_rank");
  s.norm_eps = norm_eps;  // llama.cpp normalises dt/B/C with the layer norm's epsilon
  return s;
}

MambaWeights load_mamba_weights(const WeightLoader& w, const std::string& p, const MambaShape& s) {
  const int64_t e = s.n_embd, di = s.d_inner, ns = s.d_state, r = s.dt_rank;
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
  if (w.has(p + "ssm_dt_norm.weight")) {
    mw.dt_norm = w.vector(p + "ssm_dt_norm.weight", r);
    mw.b_norm = w.vector(p + "ssm_b_norm.weight", ns);
    mw.c_norm = w.vector(p + "ssm_c_norm.weight", ns);
  }
  return mw;
}

}  // namespace ma
