#include "mixers/mamba.h"

#include <cmath>
#include <cstring>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ssm.h"
#include "core/error.h"

namespace ma {
namespace {
enum : int { kWsXz = kWsMixerFirst, kWsConv, kWsDbc, kWsDtLow, kWsDt, kWsY };

// In place; `weight` may be empty (Falcon-Mamba's weightless norm).
void rms_normalise(float* v, int64_t n, float eps, const std::vector<float>& weight) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double{v[i]} * v[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) {
    v[i] *= scale;
    if (!weight.empty()) v[i] *= weight[static_cast<size_t>(i)];
  }
}

}  // namespace

MambaMixer::MambaMixer(MambaWeights w, MambaShape shape) : w_(std::move(w)), shape_(shape) {
  const auto& s = shape_;
  if (s.d_conv < 1 || s.d_conv > cpu::kMaxConvKernel || s.d_inner <= 0 || s.d_state <= 0 ||
      s.dt_rank <= 0) {
    throw Error("Mamba: invalid shape (d_inner " + std::to_string(s.d_inner) + ", d_state " +
                std::to_string(s.d_state) + ", d_conv " + std::to_string(s.d_conv) + ", dt_rank " +
                std::to_string(s.dt_rank) + ")");
  }
  const auto sized = [](const std::vector<float>& v, int64_t n) {
    return v.empty() || static_cast<int64_t>(v.size()) == n;
  };
  if (!sized(w_.dt_norm, s.dt_rank) || !sized(w_.b_norm, s.d_state) ||
      !sized(w_.c_norm, s.d_state)) {
    throw Error("Mamba: dt/B/C norm weights do not match dt_rank and d_state");
  }
}

void MambaMixer::forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const {
  const int64_t n = ctx.n_tokens;
  const int64_t di = shape_.d_inner, ns = shape_.d_state, r = shape_.dt_rank;
  const int64_t dbc_w = r + 2 * ns;
  float* xz = ctx.ws.get(kWsXz, static_cast<size_t>(n * 2 * di));    // [n x 2 d_inner]
  float* xc = ctx.ws.get(kWsConv, static_cast<size_t>(n * di));      // [n x d_inner]
  float* dbc = ctx.ws.get(kWsDbc, static_cast<size_t>(n * dbc_w));   // [n x (R + 2N)]
  float* dt_low = ctx.ws.get(kWsDtLow, static_cast<size_t>(n * r));  // [n x R]
  float* dt = ctx.ws.get(kWsDt, static_cast<size_t>(n * di));        // [n x d_inner]
  float* y = ctx.ws.get(kWsY, static_cast<size_t>(n * di));          // [n x d_inner]
  float* conv_state = ctx.state.recurrent.slot(slot);
  float* ssm_state = conv_state + conv_state_floats();

  cpu::matmul(ctx.pool, w_.in, x, n, xz, ctx.matmul);
  cpu::causal_conv1d(ctx.pool, xz, 2 * di, n, di, w_.conv.data(), shape_.d_conv,
                     w_.conv_bias.data(), conv_state, xc);
  for (int64_t i = 0; i < n * di; ++i) xc[i] = cpu::silu(xc[i]);

  cpu::matmul(ctx.pool, w_.x_proj, xc, n, dbc, ctx.matmul);
  if (shape_.dt_b_c_rms) {
    for (int64_t t = 0; t < n; ++t) {
      float* row = dbc + t * dbc_w;
      rms_normalise(row, r, shape_.norm_eps, w_.dt_norm);
      rms_normalise(row + r, ns, shape_.norm_eps, w_.b_norm);
      rms_normalise(row + r + ns, ns, shape_.norm_eps, w_.c_norm);
    }
  }
  for (int64_t t = 0; t < n; ++t) {
    std::memcpy(dt_low + t * r, dbc + t * dbc_w, static_cast<size_t>(r) * sizeof(float));
  }
  cpu::matmul(ctx.pool, w_.dt_proj, dt_low, n, dt, ctx.matmul);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t d = 0; d < di; ++d) dt[t * di + d] = cpu::softplus(dt[t * di + d] + w_.dt_bias[d]);
  }
  cpu::selective_scan(ctx.pool, xc, dt, w_.a.data(), dbc + r, dbc + r + ns, dbc_w, w_.d.data(), n,
                      di, ns, ssm_state, y);
  for (int64_t t = 0; t < n; ++t) {
    const float* z = xz + t * 2 * di + di;
    for (int64_t d = 0; d < di; ++d) y[t * di + d] *= cpu::silu(z[d]);
  }
  cpu::matmul(ctx.pool, w_.out, y, n, out, ctx.matmul);
}

}  // namespace ma
