#include "quant/kquant_fit.h"

#include <algorithm>
#include <cmath>

namespace ma {
namespace {

// Candidate scales are the naive one stretched by nmax +- kSpread in kSteps
// steps: rounding near the extremes often gains more than it loses.
constexpr int kSteps = 10;
constexpr float kSpread = 1.0f;

}  // namespace

int nearest_level(float x, float step, float min, int lo, int hi) {
  if (step == 0.0f) return std::clamp(0, lo, hi);
  return round_clamped((x + min) / step, lo, hi);
}

float fit_symmetric(const float* x, int n, int nmax, int8_t* q) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-30f) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    return 0.0f;
  }
  // For fixed levels the best scale is <x,q>/<q,q> and the residual falls as
  // <x,q>^2/<q,q> grows, so that ratio ranks the candidates.
  float best_score = -1.0f;
  float best_scale = 0.0f;
  for (int step = -kSteps; step <= kSteps; ++step) {
    const float iscale = -(static_cast<float>(nmax) + kSpread * step / kSteps) / max;
    double sum_xq = 0.0, sum_qq = 0.0;
    for (int i = 0; i < n; ++i) {
      const int l = round_clamped(iscale * x[i], -nmax, nmax - 1);
      sum_xq += static_cast<double>(x[i]) * l;
      sum_qq += static_cast<double>(l) * l;
    }
    if (sum_qq <= 0.0) continue;
    const double score = sum_xq * sum_xq / sum_qq;
    if (score > best_score) {
      best_score = static_cast<float>(score);
      best_scale = static_cast<float>(sum_xq / sum_qq);
    }
  }
  for (int i = 0; i < n; ++i) {
    q[i] = static_cast<int8_t>(nearest_level(x[i], best_scale, 0.0f, -nmax, nmax - 1));
  }
  return best_scale;
}

AffineFit fit_affine(const float* x, int n, int nmax) {
  float lo = 0.0f;  // the offset may only be <= 0
  float hi = x[0];
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (hi <= lo) return {0.0f, -lo};

  AffineFit best{(hi - lo) / nmax, -lo};
  double best_err = INFINITY;
  for (int step = -kSteps; step <= kSteps; ++step) {
    const float iscale = (static_cast<float>(nmax) + kSpread * step / kSteps) / (hi - lo);
    // Least-squares line through (level, x): x ~= a * l + c.
    double sl = 0, sll = 0, sx = 0, sxl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = round_clamped(iscale * (x[i] - lo), 0, nmax);
      sl += l;
      sll += static_cast<double>(l) * l;
      sx += x[i];
      sxl += static_cast<double>(x[i]) * l;
    }
    const double det = n * sll - sl * sl;
    if (det <= 0.0) continue;
    double a = (n * sxl - sl * sx) / det;
    double c = (sll * sx - sl * sxl) / det;
    if (c > 0.0) {  // offset must be <= 0: refit the scale alone
      c = 0.0;
      a = sxl / sll;
    }
    if (a <= 0.0) continue;
    double err = 0.0;
    for (int i = 0; i < n; ++i) {
      const int l = round_clamped(static_cast<float>((x[i] - c) / a), 0, nmax);
      const double e = a * l + c - x[i];
      err += e * e;
    }
    if (err < best_err) {
      best_err = err;
      best = {static_cast<float>(a), static_cast<float>(-c)};
    }
  }
  return best;
}

}  // namespace ma
