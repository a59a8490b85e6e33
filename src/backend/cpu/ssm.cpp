#include "backend/cpu/ssm.h"

#include <cmath>

#include "backend/cpu/scan_kernels.h"

namespace ma::cpu {
namespace {

// Path choices, measured with bench/bench_ssm_scan.cpp on this project's
// 2-core AMD EPYC (Zen 5) machine, 2 threads, medians of 5 (microseconds).
//
// SSD at Mamba-2 130M's shape (24 heads x 64 channels x 128 states):
//   tokens       1    3    4    8    16    64    512    2048
//   sequential  50  147  187  400   750  3028  24273  108979
//   chunked    167  161  168  217   252   550   3824   16796
// The chunked path pays a fixed cost (transposing the state in and out),
// then runs ~6x faster per token: it wins from 4 tokens on. Its products use
// AVX2 here; with the portable build (MA_CPU_PORTABLE=1) it takes 1176 us at
// 64 tokens and 8693 us at 512, still 2.6-2.8x the sequential path.
constexpr int64_t kSsdChunkedMinTokens = 4;

// Mamba-1, 2048 tokens, 16 states, by channels D:
//   D             1     2     3     4     16    1536
//   sequential  108   301   235   295   1115   85690
//   chunked     121   246   358   476   1855  173559
// The time-chunked path does about twice the work (every chunk but the last
// also runs once from zero), bound by exp() like the sequential one, so it
// wins only where channels leave threads idle: on 2 threads never, except
// at D = 2, where the sequential path's two threads write the same cache
// lines of y. It is chosen when fewer than half the threads would get a
// channel: on 2 threads never, and model widths are far above thread counts.
bool selective_chunked_pays(int64_t n_tokens, int64_t d_inner, int threads) {
  return 2 * d_inner < threads && n_tokens >= 2 * kSelectiveChunking.chunk_len;
}

}  // namespace

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

void selective_scan_sequential(ThreadPool& pool, const float* x, const float* dt, const float* a,
                               const float* b, const float* c, int64_t bc_stride, const float* skip,
                               int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state,
                               float* y) {
  pool.parallel_for(d_inner, [&](int64_t d0, int64_t d1) {
    for (int64_t d = d0; d < d1; ++d) {
      scan::selective_scan_channel(x + d, dt + d, d_inner, a + d * d_state, b, c, bc_stride,
                                   skip[d], n_tokens, d_state, state + d * d_state, y + d);
    }
  });
}

void ssd_scan_sequential(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt,
                         const float* a, const float* b, const float* c, int64_t bc_stride,
                         const float* skip, int64_t n_tokens, const ref::SsdShape& s, float* state,
                         float* y) {
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

void selective_scan(ThreadPool& pool, const float* x, const float* dt, const float* a,
                    const float* b, const float* c, int64_t bc_stride, const float* skip,
                    int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state, float* y) {
  if (selective_chunked_pays(n_tokens, d_inner, pool.size())) {
    selective_scan_chunked(pool, x, dt, a, b, c, bc_stride, skip, n_tokens, d_inner, d_state, state,
                           y);
  } else {
    selective_scan_sequential(pool, x, dt, a, b, c, bc_stride, skip, n_tokens, d_inner, d_state,
                              state, y);
  }
}

void ssd_scan(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt, const float* a,
              const float* b, const float* c, int64_t bc_stride, const float* skip,
              int64_t n_tokens, const ref::SsdShape& s, float* state, float* y) {
  if (n_tokens >= kSsdChunkedMinTokens) {
    ssd_scan_chunked(pool, x, x_stride, dt, a, b, c, bc_stride, skip, n_tokens, s, state, y);
  } else {
    ssd_scan_sequential(pool, x, x_stride, dt, a, b, c, bc_stride, skip, n_tokens, s, state, y);
  }
}

}  // namespace ma::cpu
