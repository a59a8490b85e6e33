#include "backend/cpu/ssm.h"

#include <cmath>

namespace ma::cpu {

float softplus(float x) {
  return x > 20.0f ? x : std::log1p(std::exp(x));
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

void causal_conv1d(ThreadPool& pool, const float* x, int64_t x_stride, int64_t n_tokens,
                   int64_t channels, const float* w, int64_t kernel, const float* bias, float* tail,
                   float* y) {
  const int64_t k1 = kernel - 1;
  pool.parallel_for(channels, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      // Sliding window of this channel's last K inputs, oldest first.
      float win[kMaxConvKernel];
      for (int64_t k = 0; k < k1; ++k) win[k] = tail[k * channels + c];
      const float* wc = w + c * kernel;
      const float b = bias ? bias[c] : 0.0f;
      for (int64_t t = 0; t < n_tokens; ++t) {
        win[k1] = x[t * x_stride + c];
        float acc = b;
        for (int64_t k = 0; k < kernel; ++k) acc += wc[k] * win[k];
        y[t * channels + c] = acc;
        for (int64_t k = 0; k < k1; ++k) win[k] = win[k + 1];
      }
      for (int64_t k = 0; k < k1; ++k) tail[k * channels + c] = win[k];
    }
  });
}

void selective_scan(ThreadPool& pool, const float* x, const float* dt, const float* a,
                    const float* b, const float* c, int64_t bc_stride, const float* skip,
                    int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state, float* y) {
  pool.parallel_for(d_inner, [&](int64_t d0, int64_t d1) {
    for (int64_t d = d0; d < d1; ++d) {
      float* h = state + d * d_state;
      const float* ad = a + d * d_state;
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float xv = x[t * d_inner + d];
        const float dtv = dt[t * d_inner + d];
        const float dtx = dtv * xv;
        const float* bt = b + t * bc_stride;
        const float* ct = c + t * bc_stride;
        float acc = 0.0f;
        for (int64_t s = 0; s < d_state; ++s) {
          h[s] = std::exp(dtv * ad[s]) * h[s] + dtx * bt[s];
          acc += ct[s] * h[s];
        }
        y[t * d_inner + d] = acc + skip[d] * xv;
      }
    }
  });
}

void ssd_scan(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt, const float* a,
              const float* b, const float* c, int64_t bc_stride, const float* skip,
              int64_t n_tokens, const ref::SsdShape& s, float* state, float* y) {
  const int64_t heads_per_group = s.n_head / s.n_group;
  const int64_t width = s.n_head * s.head_dim;
  // Rows are (head, channel) pairs; each carries its own N states.
  pool.parallel_for(width, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t i = r / s.head_dim;
      const int64_t g = i / heads_per_group;
      float* h = state + r * s.d_state;
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float dtv = dt[t * s.n_head + i];
        const float decay = std::exp(dtv * a[i]);
        const float xv = x[t * x_stride + r];
        const float dtx = dtv * xv;
        const float* bt = b + t * bc_stride + g * s.d_state;
        const float* ct = c + t * bc_stride + g * s.d_state;
        float acc = 0.0f;
        for (int64_t n = 0; n < s.d_state; ++n) {
          h[n] = decay * h[n] + dtx * bt[n];
          acc += ct[n] * h[n];
        }
        y[t * width + r] = acc + skip[i] * xv;
      }
    }
  });
}

}  // namespace ma::cpu
