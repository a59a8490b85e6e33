#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>

#include "blocks/forward_context.h"

namespace ma::cpu {

float* CpuBackend::buffer(int id, size_t n) {
  return ws_.get(id, n);
}

void CpuBackend::copy(const float* src, int64_t n, float* dst) {
  if (src != dst) std::copy(src, src + n, dst);
}

void CpuBackend::embedding(const Weight& table, const int32_t* tokens, int64_t n_tokens,
                           float scale, float* out) {
  cpu::embedding(table, tokens, n_tokens, out);
  if (scale != 1.0f) {
    for (int64_t i = 0; i < n_tokens * table.in; ++i) out[i] *= scale;
  }
}

void CpuBackend::norm(NormKind kind, const float* x, const std::vector<float>& weight,
                      const std::vector<float>& bias, int64_t rows, int64_t dim, float eps,
                      float* y) {
  pool_.parallel_for(rows, [&](int64_t r0, int64_t r1) {
    const float* xr = x + r0 * dim;
    float* yr = y + r0 * dim;
    if (kind == NormKind::kLayer) {
      layer_norm(xr, weight.data(), bias.empty() ? nullptr : bias.data(), r1 - r0, dim, eps, yr);
    } else {
      rms_norm(xr, weight.data(), r1 - r0, dim, eps, yr);
    }
  });
}

void CpuBackend::gated(GateActivation act, float* gate, const float* up, int64_t n) {
  // Prompt batches make this millions of exp/tanh calls: split them over the
  // threads in cache-line-aligned chunks.
  constexpr int64_t kChunk = 1024;
  pool_.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1) {
    const int64_t b = c0 * kChunk, e = std::min(n, c1 * kChunk);
    if (act == GateActivation::kSilu) {
      swiglu(gate + b, up + b, e - b, gate + b);
    } else {
      geglu(gate + b, up + b, e - b, gate + b);
    }
  });
}

void CpuBackend::softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void CpuBackend::argmax(const float* x, int64_t n, int32_t* host) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i]) && (best < 0 || x[i] > x[best])) best = i;
  }
  *host = static_cast<int32_t>(best);
}

void CpuBackend::attention(const AttentionStep& step, float* q, float* k, const float* v,
                           float* out) {
  const ref::AttentionShape& shape = *step.shape;
  const int64_t n = step.n_tokens;
  if (step.rope != nullptr) {
    rope(q, n, shape.n_head, shape.head_dim, step.positions, *step.rope);
    rope(k, n, shape.n_head_kv, shape.head_dim, step.positions, *step.rope);
  }
  const int64_t kv_dim = shape.n_head_kv * shape.head_dim;
  SequenceState& st = *step.state;
  for (int64_t t = 0; t < n; ++t) {
    st.kv->store(step.layer, st.kv_seq, step.positions[t], k + t * kv_dim, v + t * kv_dim);
  }
  const int64_t n_kv = step.positions[n - 1] + 1;
  attention_paged(pool_, q, step.positions, n, st.kv->view(step.layer, st.kv_seq), n_kv, shape, out,
                  attention_);
}

}  // namespace ma::cpu
