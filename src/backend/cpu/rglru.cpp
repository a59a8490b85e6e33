#include "backend/cpu/rglru.h"

#include <cmath>

#include "backend/cpu/dot_kernels.h"
#include "ops/reference_ssm.h"

namespace ma::cpu {
namespace {

float sigmoid(float v) {
  return 1.0f / (1.0f + std::exp(-v));
}

}  // namespace

void rglru(ThreadPool& pool, const float* x, const int64_t* positions, int64_t n_tokens,
           const ref::RgLruParams& p, float* gates, float* state, float* y) {
  const DotKernels& dk = dot_kernels();
  const int64_t w = p.width, n_head = p.n_head, b = p.block();
  float* in_gate = gates;                // [T x W]
  float* a_gate = gates + n_tokens * w;  // [T x W]
  pool.parallel_for(n_tokens * n_head, [&](int64_t j0, int64_t j1) {
    for (int64_t job = j0; job < j1; ++job) {
      const int64_t t = job / n_head;
      const int64_t first = job % n_head * b;
      const float* xb = x + t * w + first;
      for (int64_t c = first; c < first + b; ++c) {
        in_gate[t * w + c] = sigmoid(p.gate_x_bias[c] + dk.f32(p.gate_x + c * b, xb, b));
        a_gate[t * w + c] = sigmoid(p.gate_a_bias[c] + dk.f32(p.gate_a + c * b, xb, b));
      }
    }
  });
  pool.parallel_for(w, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float neg_log_base = static_cast<float>(-ref::kRgLruC * ref::softplus(p.a_param[c]));
      float h = state[c];
      for (int64_t t = 0; t < n_tokens; ++t) {
        const int64_t i = t * w + c;
        const float log_a = a_gate[i] * neg_log_base;
        const bool start = positions[t] == 0;
        // 1 - a^2 as -expm1(2 log a): exact where a is close to 1.
        const float multiplier = start ? 1.0f : std::sqrt(-std::expm1(2.0f * log_a));
        h = (start ? 0.0f : std::exp(log_a) * h) + x[i] * in_gate[i] * multiplier;
        y[i] = h;
      }
      state[c] = h;
    }
  });
}

}  // namespace ma::cpu
