// Scale searches used by the k-quant encoders: fit one sub-block of floats to
// integer levels by least squares over a few candidate scales. Not ggml's
// algorithm; the decoded format is what has to match, not the chosen levels.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ma {

// std::clamp(std::nearbyint(v), lo, hi) for small integer bounds in the
// default rounding mode (ties to even), without nearbyint's libm call
// (baseline x86-64 does not inline it; the call was a tenth of a K-quant
// encode): once clamped, |v| < 2^22, and adding and taking off 1.5 * 2^23
// leaves it rounded.
inline int round_clamped(float v, int lo, int hi) {
  constexpr float kRound = 12582912.0f;
  const float c = std::clamp(v, static_cast<float>(lo), static_cast<float>(hi));
  return static_cast<int>((c + kRound) - kRound);
}

// x ~= s * q with q in [-nmax, nmax - 1]; s may be negative so that the
// element of largest magnitude can use the extra negative level. Writes the
// levels to q and returns s (0 for an all-zero block).
float fit_symmetric(const float* x, int n, int nmax, int8_t* q);

// x ~= s * q - m with q in [0, nmax], s >= 0 and m >= 0 (the formats store an
// unsigned min that is subtracted, so the offset cannot be positive).
struct AffineFit {
  float scale;
  float min;
};
AffineFit fit_affine(const float* x, int n, int nmax);

// Level of x for a decoded step (and subtracted min), clamped to [lo, hi];
// 0 when the step is 0.
int nearest_level(float x, float step, float min, int lo, int hi);

}  // namespace ma
