#include "blocks/feed_forward.h"

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"

namespace ma {

void GatedFeedForward::forward(ForwardContext& ctx, const float* x, float* out) const {
  const int64_t n = ctx.n_tokens;
  const int64_t ff = gate_.out;
  float* g = ctx.ws.get(kWsGate, static_cast<size_t>(n * ff));
  float* u = ctx.ws.get(kWsUp, static_cast<size_t>(n * ff));
  cpu::matmul(ctx.pool, gate_, x, n, g, ctx.matmul);
  cpu::matmul(ctx.pool, up_, x, n, u, ctx.matmul);
  if (!biases_.gate.empty()) cpu::add_bias(g, biases_.gate.data(), n, ff);
  if (!biases_.up.empty()) cpu::add_bias(u, biases_.up.data(), n, ff);
  if (act_ == GateActivation::kSilu) {
    cpu::swiglu(g, u, n * ff, g);
  } else {
    cpu::geglu(g, u, n * ff, g);
  }
  cpu::matmul(ctx.pool, down_, g, n, out, ctx.matmul);
  if (!biases_.down.empty()) cpu::add_bias(out, biases_.down.data(), n, down_.out);
}

}  // namespace ma
