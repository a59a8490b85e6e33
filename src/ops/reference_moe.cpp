#include "ops/reference_moe.h"

#include <algorithm>
#include <numeric>

#include "ops/reference_ops.h"

namespace ma::ref {

void moe_ffn(const Weight& router, const std::vector<Weight>& gate, const std::vector<Weight>& up,
             const std::vector<Weight>& down, int64_t n_used, bool renormalize, const double* x,
             int64_t n_tokens, double* y) {
  const int64_t embd = router.in, n_expert = router.out;
  std::vector<double> probs(static_cast<size_t>(n_expert));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double* xt = x + t * embd;
    double* yt = y + t * embd;
    std::fill(yt, yt + embd, 0.0);
    matmul(router, xt, 1, probs.data());
    softmax(probs.data(), n_expert);
    std::vector<int64_t> order(static_cast<size_t>(n_expert));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
    double chosen = 0;
    for (int64_t j = 0; j < n_used; ++j) chosen += probs[order[j]];
    for (int64_t j = 0; j < n_used; ++j) {
      const auto e = static_cast<size_t>(order[j]);
      const double weight = renormalize ? probs[e] / chosen : probs[e];
      const int64_t ff = gate[e].out;
      std::vector<double> g(static_cast<size_t>(ff)), u(static_cast<size_t>(ff));
      std::vector<double> o(static_cast<size_t>(embd));
      matmul(gate[e], xt, 1, g.data());
      matmul(up[e], xt, 1, u.data());
      swiglu(g.data(), u.data(), ff, g.data());
      matmul(down[e], g.data(), 1, o.data());
      for (int64_t c = 0; c < embd; ++c) yt[c] += weight * o[c];
    }
  }
}

}  // namespace ma::ref
