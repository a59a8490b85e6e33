#include "ops/reference_ssm.h"

#include <cmath>
#include <vector>

namespace ma::ref {

double softplus(double x) {
  return x > 20.0 ? x : std::log1p(std::exp(x));
}

double silu(double x) {
  return x / (1.0 + std::exp(-x));
}

void causal_conv1d(const double* x, int64_t x_stride, int64_t n_tokens, int64_t channels,
                   const float* w, int64_t kernel, const float* bias, double* tail, double* y) {
  const int64_t k1 = kernel - 1;
  // The whole input: K-1 tail rows, then the tokens.
  std::vector<double> in(static_cast<size_t>((k1 + n_tokens) * channels));
  for (int64_t i = 0; i < k1 * channels; ++i) in[static_cast<size_t>(i)] = tail[i];
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t c = 0; c < channels; ++c) {
      in[static_cast<size_t>((k1 + t) * channels + c)] = x[t * x_stride + c];
    }
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t c = 0; c < channels; ++c) {
      double acc = bias ? bias[c] : 0.0;
      for (int64_t k = 0; k < kernel; ++k) {
        acc += static_cast<double>(w[c * kernel + k]) *
               in[static_cast<size_t>((t + k) * channels + c)];
      }
      y[t * channels + c] = acc;
    }
  }
  for (int64_t i = 0; i < k1 * channels; ++i) {
    tail[i] = in[static_cast<size_t>(n_tokens * channels + i)];
  }
}

void selective_scan(const double* x, const double* dt, const float* a, const double* b,
                    const double* c, int64_t bc_stride, const float* skip, int64_t n_tokens,
                    int64_t d_inner, int64_t d_state, double* state, double* y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double* bt = b + t * bc_stride;
    const double* ct = c + t * bc_stride;
    for (int64_t d = 0; d < d_inner; ++d) {
      const double xv = x[t * d_inner + d];
      const double dtv = dt[t * d_inner + d];
      double* h = state + d * d_state;
      double acc = 0;
      for (int64_t s = 0; s < d_state; ++s) {
        h[s] = std::exp(dtv * a[d * d_state + s]) * h[s] + dtv * bt[s] * xv;
        acc += ct[s] * h[s];
      }
      y[t * d_inner + d] = acc + skip[d] * xv;
    }
  }
}

void ssd_scan(const double* x, int64_t x_stride, const double* dt, const float* a, const double* b,
              const double* c, int64_t bc_stride, const float* skip, int64_t n_tokens,
              const SsdShape& s, double* state, double* y) {
  const int64_t heads_per_group = s.n_head / s.n_group;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < s.n_head; ++i) {
      const int64_t g = i / heads_per_group;
      const double* bt = b + t * bc_stride + g * s.d_state;
      const double* ct = c + t * bc_stride + g * s.d_state;
      const double dtv = dt[t * s.n_head + i];
      const double decay = std::exp(dtv * a[i]);
      for (int64_t p = 0; p < s.head_dim; ++p) {
        const double xv = x[t * x_stride + i * s.head_dim + p];
        double* h = state + (i * s.head_dim + p) * s.d_state;
        double acc = 0;
        for (int64_t n = 0; n < s.d_state; ++n) {
          h[n] = decay * h[n] + dtv * bt[n] * xv;
          acc += ct[n] * h[n];
        }
        y[t * s.n_head * s.head_dim + i * s.head_dim + p] = acc + skip[i] * xv;
      }
    }
  }
}

}  // namespace ma::ref
