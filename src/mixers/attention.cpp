#include "mixers/attention.h"

namespace ma {

void SoftmaxAttention::forward(ForwardContext& ctx, const float* x, float* out,
                               int64_t slot) const {
  Backend& be = ctx.backend;
  const int64_t n = ctx.n_tokens;
  const int64_t q_dim = shape_.n_head * shape_.head_dim;
  const int64_t kv_dim = shape_.n_head_kv * shape_.head_dim;
  float* q = be.buffer(kWsQ, static_cast<size_t>(n * q_dim));
  float* k = be.buffer(kWsK, static_cast<size_t>(n * kv_dim));
  float* v = be.buffer(kWsV, static_cast<size_t>(n * kv_dim));
  float* attn = be.buffer(kWsAttnOut, static_cast<size_t>(n * q_dim));

  be.matmul_shared({{&w_.wq, q}, {&w_.wk, k}, {&w_.wv, v}}, x, n);
  AttentionStep step;
  step.layer = slot;
  step.shape = &shape_;
  step.rope = &rope_;
  step.positions = ctx.positions;
  step.n_tokens = n;
  step.state = &ctx.state;
  be.attention(step, q, k, v, attn);
  be.matmul(w_.wo, attn, n, out);
  if (!w_.wo_bias.empty()) be.add_bias(out, w_.wo_bias, n, w_.wo.out);
}

}  // namespace ma
