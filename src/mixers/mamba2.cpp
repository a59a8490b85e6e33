#include "mixers/mamba2.h"

#include <cmath>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ssm.h"
#include "core/error.h"

namespace ma {
namespace {
enum : int { kWsProj = kWsMixerFirst, kWsXbc, kWsDt, kWsY };
}

Mamba2Mixer::Mamba2Mixer(Mamba2Weights w, Mamba2Shape shape) : w_(std::move(w)), shape_(shape) {
  const auto& s = shape_;
  const bool ok = s.d_conv >= 1 && s.d_conv <= cpu::kMaxConvKernel && s.n_head > 0 &&
                  s.d_inner > 0 && s.d_inner % s.n_head == 0 && s.n_group > 0 &&
                  s.n_head % s.n_group == 0 && s.d_state > 0;
  if (!ok) {
    throw Error("Mamba-2: invalid shape (d_inner " + std::to_string(s.d_inner) + ", heads " +
                std::to_string(s.n_head) + ", groups " + std::to_string(s.n_group) + ", d_state " +
                std::to_string(s.d_state) + ", d_conv " + std::to_string(s.d_conv) + ")");
  }
  ssd_ = {s.n_head, s.head_dim(), s.d_state, s.n_group};
}

void Mamba2Mixer::forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const {
  const int64_t n = ctx.n_tokens;
  const int64_t di = shape_.d_inner, h = shape_.n_head, cd = shape_.conv_dim();
  const int64_t in_dim = shape_.in_dim(), gn = shape_.n_group * shape_.d_state;
  float* proj = ctx.ws.get(kWsProj, static_cast<size_t>(n * in_dim));  // [n x (z, xBC, dt)]
  float* xbc = ctx.ws.get(kWsXbc, static_cast<size_t>(n * cd));        // [n x conv_dim]
  float* dt = ctx.ws.get(kWsDt, static_cast<size_t>(n * h));           // [n x H]
  float* y = ctx.ws.get(kWsY, static_cast<size_t>(n * di));            // [n x d_inner]
  float* conv_state = ctx.state.recurrent.slot(slot);
  float* ssm_state = conv_state + conv_state_floats();

  cpu::matmul(ctx.pool, w_.in, x, n, proj, ctx.matmul);
  cpu::causal_conv1d(ctx.pool, proj + di, in_dim, n, cd, w_.conv.data(), shape_.d_conv,
                     w_.conv_bias.data(), conv_state, xbc);
  for (int64_t i = 0; i < n * cd; ++i) xbc[i] = cpu::silu(xbc[i]);
  for (int64_t t = 0; t < n; ++t) {
    const float* raw = proj + t * in_dim + di + cd;
    for (int64_t i = 0; i < h; ++i) dt[t * h + i] = cpu::softplus(raw[i] + w_.dt_bias[i]);
  }
  cpu::ssd_scan(ctx.pool, xbc, cd, dt, w_.a.data(), xbc + di, xbc + di + gn, cd, w_.d.data(), n,
                ssd_, ssm_state, y);

  // Gate, then RMSNorm per group of d_inner / G channels.
  const int64_t group = di / shape_.n_group;
  for (int64_t t = 0; t < n; ++t) {
    float* yt = y + t * di;
    const float* z = proj + t * in_dim;
    for (int64_t i = 0; i < di; ++i) yt[i] *= cpu::silu(z[i]);
    for (int64_t g0 = 0; g0 < di; g0 += group) {
      double ss = 0;
      for (int64_t i = g0; i < g0 + group; ++i) ss += double{yt[i]} * yt[i];
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / group + shape_.norm_eps));
      for (int64_t i = g0; i < g0 + group; ++i) yt[i] *= scale * w_.norm[i];
    }
  }
  cpu::matmul(ctx.pool, w_.out, y, n, out, ctx.matmul);
}

}  // namespace ma
