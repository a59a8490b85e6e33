#include "ops/rope.h"

#include <algorithm>
#include <cmath>

namespace ma {
namespace {

// Dimension index at which the rotation completes `n_rot` turns over n_ctx_orig.
double yarn_corr_dim(int64_t n_dims, int64_t n_ctx_orig, double n_rot, double base) {
  return static_cast<double>(n_dims) *
         std::log(static_cast<double>(n_ctx_orig) / (n_rot * 2.0 * M_PI)) / (2.0 * std::log(base));
}

}  // namespace

double rope_rate(const RopeParams& p, int64_t i, double* mscale) {
  const double base = p.freq_base;
  double theta_extrap =
      std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(p.n_dims));
  if (p.freq_factors != nullptr) theta_extrap /= p.freq_factors[i];
  const double theta_interp = p.freq_scale * theta_extrap;
  double theta = theta_interp;
  *mscale = p.attn_factor;
  if (p.ext_factor != 0.0f) {
    const double lo =
        std::max(0.0, std::floor(yarn_corr_dim(p.n_dims, p.n_ctx_orig, p.beta_fast, base)));
    const double hi = std::min(static_cast<double>(p.n_dims - 1),
                               std::ceil(yarn_corr_dim(p.n_dims, p.n_ctx_orig, p.beta_slow, base)));
    const double y = (static_cast<double>(i) - lo) / std::max(0.001, hi - lo);
    const double ramp = (1.0 - std::min(1.0, std::max(0.0, y))) * p.ext_factor;
    theta = theta_interp * (1.0 - ramp) + theta_extrap * ramp;
    *mscale *= 1.0 + 0.1 * std::log(1.0 / p.freq_scale);
  }
  return theta;
}

void rope_angle(const RopeParams& p, int64_t pos, int64_t i, double* cos_out, double* sin_out) {
  double mscale = 1.0;
  const double theta = static_cast<double>(pos) * rope_rate(p, i, &mscale);
  *cos_out = std::cos(theta) * mscale;
  *sin_out = std::sin(theta) * mscale;
}

}  // namespace ma
