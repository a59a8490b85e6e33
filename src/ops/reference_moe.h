// fp64 reference of the mixture-of-experts SwiGLU feed-forward
// (blocks/moe_feed_forward.h): router softmax, top-k, weighted sum of the
// chosen experts' down(silu(gate x) * up x).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/weight.h"

namespace ma::ref {

// x, y: [n_tokens x n_embd]. Experts are chosen by probability, ties to the
// lower index; `renormalize` scales the k chosen probabilities to sum to 1.
void moe_ffn(const Weight& router, const std::vector<Weight>& gate, const std::vector<Weight>& up,
             const std::vector<Weight>& down, int64_t n_used, bool renormalize, const double* x,
             int64_t n_tokens, double* y);

}  // namespace ma::ref
