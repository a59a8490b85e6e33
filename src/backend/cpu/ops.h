// Fast float32 CPU ops used by the model code. Each has an fp64 twin in
// ops/reference_ops.h and is compared against it in tests/ops.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/weight.h"
#include "core/thread_pool.h"
#include "ops/reference_ops.h"
#include "ops/rope.h"
#include "state/kv_cache.h"

namespace ma::cpu {

// y = x / rms(x) * weight, per token; x and y may alias.
void rms_norm(const float* x, const float* weight, int64_t n_tokens, int64_t dim, float eps,
              float* y);

// y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, per token
// (LayerNorm); bias may be null; x and y may alias.
void layer_norm(const float* x, const float* weight, const float* bias, int64_t n_tokens,
                int64_t dim, float eps, float* y);

// In place on [n_tokens x n_heads x head_dim] at the given positions.
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int64_t* positions,
          const RopeParams& p);

void swiglu(const float* gate, const float* up, int64_t n, float* out);
void geglu(const float* gate, const float* up, int64_t n, float* out);
void add_inplace(float* y, const float* x, int64_t n);
// y[t][i] += bias[i] for n_tokens rows of dim values.
void add_bias(float* y, const float* bias, int64_t n_tokens, int64_t dim);

// Rows of an embedding table of any supported type, for each token id.
void embedding(const Weight& table, const int32_t* tokens, int64_t n_tokens, float* out);

// Per-thread buffers for attention (decode scores, prefill tiles), grown as
// the context grows.
class AttentionScratch {
 public:
  float* scores(int thread, int64_t n) { return grow(per_thread_, thread, static_cast<size_t>(n)); }
  float* tile(int thread, size_t n) { return grow(tiles_, thread, n); }
  void ensure_threads(int n) {
    if (static_cast<int>(per_thread_.size()) < n) per_thread_.resize(static_cast<size_t>(n));
    if (static_cast<int>(tiles_.size()) < n) tiles_.resize(static_cast<size_t>(n));
  }

 private:
  static float* grow(std::vector<std::vector<float>>& v, int thread, size_t n) {
    auto& s = v[static_cast<size_t>(thread)];
    if (s.size() < n) s.resize(n);
    return s.data();
  }
  std::vector<std::vector<float>> per_thread_;
  std::vector<std::vector<float>> tiles_;
};

// Causal attention of q [n_q x n_head x d] (query t at q_pos[t]) against the
// paged cache holding positions [0, n_kv); out has q's shape. Batches of
// queries go through attention_tiled.h; a single query loops over heads.
void attention_paged(ThreadPool& pool, const float* q, const int64_t* q_pos, int64_t n_q,
                     const KvLayerView& kv, int64_t n_kv, const ref::AttentionShape& shape,
                     float* out, AttentionScratch& scratch);

}  // namespace ma::cpu
