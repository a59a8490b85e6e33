#include "blocks/moe_feed_forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "core/error.h"

namespace ma {

MoeFeedForward::MoeFeedForward(MoeWeights w, MoeRouting routing)
    : w_(std::move(w)), routing_(routing) {
  const int64_t e = n_expert();
  if (e < 1 || w_.up.size() != w_.gate.size() || w_.down.size() != w_.gate.size() ||
      w_.router.out != e) {
    throw Error("MoE: router and expert counts disagree (" + std::to_string(w_.router.out) +
                " router outputs, " + std::to_string(e) + " experts)");
  }
  if (e > kMaxExperts) {
    throw Error("MoE: " + std::to_string(e) + " experts; at most " + std::to_string(kMaxExperts) +
                " are supported");
  }
  if (routing_.n_used < 1 || routing_.n_used > e) {
    throw Error("MoE: expert_used_count " + std::to_string(routing_.n_used) + " is not in [1, " +
                std::to_string(e) + "]");
  }
}

void MoeFeedForward::visit_matmul_weights(const WeightVisitor& visit) {
  visit(w_.router);
  for (auto* list : {&w_.gate, &w_.up, &w_.down}) {
    for (Weight& w : *list) visit(w);
  }
}

void moe_select(const float* logits, int64_t n_expert, const MoeRouting& routing, int32_t* experts,
                float* weights) {
  double max_logit = logits[0];
  for (int64_t i = 1; i < n_expert; ++i) max_logit = std::max(max_logit, double{logits[i]});
  double probs[kMaxExperts];
  double sum = 0;
  for (int64_t i = 0; i < n_expert; ++i) sum += probs[i] = std::exp(logits[i] - max_logit);
  int32_t order[kMaxExperts];
  std::iota(order, order + n_expert, 0);
  std::stable_sort(order, order + n_expert,
                   [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
  double chosen = 0;
  for (int64_t j = 0; j < routing.n_used; ++j) chosen += probs[order[j]];
  const double norm = routing.renormalize ? chosen : sum;
  for (int64_t j = 0; j < routing.n_used; ++j) {
    experts[j] = order[j];
    weights[j] = static_cast<float>(probs[order[j]] / norm);
  }
}

void MoeFeedForward::forward(ForwardContext& ctx, const float* x, float* out) const {
  const int64_t n = ctx.n_tokens, n_exp = n_expert(), k = routing_.n_used;
  const int64_t embd = w_.router.in, ff = w_.gate[0].out;
  float* logits = ctx.ws.get(kWsRouter, static_cast<size_t>(n * n_exp));
  cpu::matmul(ctx.pool, w_.router, x, n, logits, ctx.matmul);

  // Each token's k (expert, weight) pairs. The workspace holds floats only,
  // so expert and token indices are stored as floats (exact below 2^24);
  // this keeps the decode step free of allocations.
  float* picks = ctx.ws.get(kWsRouterPicks, static_cast<size_t>(n * k * 2));
  float* rows = ctx.ws.get(kWsRouterRows, static_cast<size_t>(n));
  int32_t chosen[kMaxExperts];
  float weight[kMaxExperts];
  for (int64_t t = 0; t < n; ++t) {
    moe_select(logits + t * n_exp, n_exp, routing_, chosen, weight);
    for (int64_t j = 0; j < k; ++j) {
      picks[(t * k + j) * 2] = static_cast<float>(chosen[j]);
      picks[(t * k + j) * 2 + 1] = weight[j];
    }
  }

  std::memset(out, 0, static_cast<size_t>(n * embd) * sizeof(float));
  float* xs = ctx.ws.get(kWsExpertIn, static_cast<size_t>(n * embd));
  float* g = ctx.ws.get(kWsGate, static_cast<size_t>(n * ff));
  float* u = ctx.ws.get(kWsUp, static_cast<size_t>(n * ff));
  float* ys = ctx.ws.get(kWsExpertOut, static_cast<size_t>(n * embd));
  for (int64_t e = 0; e < n_exp; ++e) {
    int64_t m = 0;  // tokens routed to expert e, gathered in token order
    for (int64_t p = 0; p < n * k; ++p) {
      if (static_cast<int64_t>(picks[p * 2]) != e) continue;
      const int64_t t = p / k;
      std::memcpy(xs + m * embd, x + t * embd, static_cast<size_t>(embd) * sizeof(float));
      rows[m++] = static_cast<float>(p);
    }
    if (m == 0) continue;
    const auto ei = static_cast<size_t>(e);
    cpu::matmul(ctx.pool, w_.gate[ei], xs, m, g, ctx.matmul);
    cpu::matmul(ctx.pool, w_.up[ei], xs, m, u, ctx.matmul);
    cpu::swiglu(g, u, m * ff, g);
    cpu::matmul(ctx.pool, w_.down[ei], g, m, ys, ctx.matmul);
    for (int64_t i = 0; i < m; ++i) {
      const auto p = static_cast<int64_t>(rows[i]);
      const float wt = picks[p * 2 + 1];
      float* o = out + (p / k) * embd;
      const float* y = ys + i * embd;
      for (int64_t c = 0; c < embd; ++c) o[c] += wt * y[c];
    }
  }
}

}  // namespace ma
