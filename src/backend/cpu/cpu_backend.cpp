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
  if (kind == NormKind::kLayer) {
    layer_norm(x, weight.data(), bias.empty() ? nullptr : bias.data(), rows, dim, eps, y);
  } else {
    rms_norm(x, weight.data(), rows, dim, eps, y);
  }
}

void CpuBackend::gated(GateActivation act, float* gate, const float* up, int64_t n) {
  if (act == GateActivation::kSilu) {
    swiglu(gate, up, n, gate);
  } else {
    geglu(gate, up, n, gate);
  }
}

void CpuBackend::softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void CpuBackend::attention(const AttentionStep& step, const float* q, const float* k,
                           const float* v, float* out) {
  const ref::AttentionShape& shape = *step.shape;
  const int64_t n = step.n_tokens;
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
