#include "ops/reference_rglru.h"

#include <cmath>
#include <vector>

#include "ops/reference_ssm.h"

namespace ma::ref {
namespace {

double sigmoid(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

// out[c] = sigmoid(bias[c] + sum_i w[h][j][i] x[h*B + i]) for every channel c = h*B + j.
void block_diagonal_gate(const double* x, const float* w, const float* bias, int64_t width,
                         int64_t block, double* out) {
  for (int64_t c = 0; c < width; ++c) {
    const int64_t first = c / block * block;
    const float* row = w + c * block;
    double s = bias[c];
    for (int64_t i = 0; i < block; ++i) s += static_cast<double>(row[i]) * x[first + i];
    out[c] = sigmoid(s);
  }
}

}  // namespace

void rglru(const double* x, const int64_t* positions, int64_t n_tokens, const RgLruParams& p,
           double* state, double* y) {
  const int64_t w = p.width, b = p.block();
  std::vector<double> in_gate(static_cast<size_t>(w)), a_gate(static_cast<size_t>(w));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double* xt = x + t * w;
    block_diagonal_gate(xt, p.gate_x, p.gate_x_bias, w, b, in_gate.data());
    block_diagonal_gate(xt, p.gate_a, p.gate_a_bias, w, b, a_gate.data());
    const bool start = positions[t] == 0;
    for (int64_t c = 0; c < w; ++c) {
      const double log_a = -kRgLruC * a_gate[static_cast<size_t>(c)] * softplus(p.a_param[c]);
      const double a = std::exp(log_a);
      const double multiplier = start ? 1.0 : std::sqrt(1.0 - std::exp(2.0 * log_a));
      const double input = xt[c] * in_gate[static_cast<size_t>(c)] * multiplier;
      state[c] = (start ? 0.0 : a * state[c]) + input;
      y[t * w + c] = state[c];
    }
  }
}

}  // namespace ma::ref
