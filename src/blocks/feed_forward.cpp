#include "blocks/feed_forward.h"

namespace ma {

void GatedFeedForward::forward(ForwardContext& ctx, const float* x, float* out) const {
  Backend& be = ctx.backend;
  const int64_t n = ctx.n_tokens;
  const int64_t ff = gate_.out;
  float* g = be.buffer(kWsGate, static_cast<size_t>(n * ff));
  float* u = be.buffer(kWsUp, static_cast<size_t>(n * ff));
  be.matmul_shared({{&gate_, g}, {&up_, u}}, x, n);
  if (!biases_.gate.empty()) be.add_bias(g, biases_.gate, n, ff);
  if (!biases_.up.empty()) be.add_bias(u, biases_.up, n, ff);
  be.gated(act_, g, u, n * ff);
  be.matmul(down_, g, n, out);
  if (!biases_.down.empty()) be.add_bias(out, biases_.down, n, down_.out);
}

}  // namespace ma
