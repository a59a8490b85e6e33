#include "mixers/attention.h"

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"

namespace ma {

void SoftmaxAttention::forward(ForwardContext& ctx, const float* x, float* out,
                               int64_t slot) const {
  const int64_t n = ctx.n_tokens;
  const int64_t d = shape_.head_dim;
  const int64_t q_dim = shape_.n_head * d;
  const int64_t kv_dim = shape_.n_head_kv * d;
  float* q = ctx.ws.get(kWsQ, static_cast<size_t>(n * q_dim));
  float* k = ctx.ws.get(kWsK, static_cast<size_t>(n * kv_dim));
  float* v = ctx.ws.get(kWsV, static_cast<size_t>(n * kv_dim));
  float* attn = ctx.ws.get(kWsAttnOut, static_cast<size_t>(n * q_dim));

  cpu::matmul(ctx.pool, w_.wq, x, n, q, ctx.matmul);
  cpu::matmul(ctx.pool, w_.wk, x, n, k, ctx.matmul);
  cpu::matmul(ctx.pool, w_.wv, x, n, v, ctx.matmul);
  cpu::rope(q, n, shape_.n_head, d, ctx.positions, rope_);
  cpu::rope(k, n, shape_.n_head_kv, d, ctx.positions, rope_);

  KvCache& cache = *ctx.state.kv;
  for (int64_t t = 0; t < n; ++t) {
    cache.store(slot, ctx.state.kv_seq, ctx.positions[t], k + t * kv_dim, v + t * kv_dim);
  }
  const int64_t n_kv = ctx.positions[n - 1] + 1;
  cpu::attention_paged(ctx.pool, q, ctx.positions, n, cache.view(slot, ctx.state.kv_seq), n_kv,
                       shape_, attn, ctx.attention);
  cpu::matmul(ctx.pool, w_.wo, attn, n, out, ctx.matmul);
  if (!w_.wo_bias.empty()) cpu::add_bias(out, w_.wo_bias.data(), n, w_.wo.out);
}

}  // namespace ma
