// fp64 reference of the Real-Gated Linear Recurrent Unit (RG-LRU) of Griffin
// / RecurrentGemma, token after token, written the way transformers'
// RecurrentGemmaRglru computes it. The fast op (backend/cpu/rglru.h) and the
// RG-LRU mixer are tested against it.
//
// Layouts: activations are [tokens x W]; the state is [W].
#pragma once

#include <cstdint>

namespace ma::ref {

// Griffin's constant c in a = sigma(Lambda)^(c r): log a = -c r softplus(Lambda).
inline constexpr double kRgLruC = 8.0;

// The RG-LRU's parameters over W channels split into H blocks of B = W / H
// channels. Each gate is block-diagonal: H matrices in ggml order {B, B}, so
// row j of block h (B floats) weighs block h's inputs for channel h*B + j.
struct RgLruParams {
  int64_t width = 0;                   // W
  int64_t n_head = 0;                  // H
  const float* gate_x = nullptr;       // [H x B x B] input gate
  const float* gate_x_bias = nullptr;  // [W]
  const float* gate_a = nullptr;       // [H x B x B] recurrence gate
  const float* gate_a_bias = nullptr;  // [W]
  const float* a_param = nullptr;      // [W] Lambda (transformers' recurrent_param)

  int64_t block() const { return width / n_head; }
};

// For token t at position pos[t] and channel c of block h (x_h: block h of x[t]):
//   i = sigmoid(gate_x[h] x_h + gate_x_bias)    r = sigmoid(gate_a[h] x_h + gate_a_bias)
//   log_a = -c r softplus(Lambda)              a = exp(log_a)
//   m = 1 at position 0, else sqrt(1 - exp(2 log_a))
//   h = a h + m i x   (at position 0 the old h is dropped: a sequence starts there)
//   y[t] = h
// x: [T x W]; state: [W], in and out; y: [T x W].
void rglru(const double* x, const int64_t* positions, int64_t n_tokens, const RgLruParams& p,
           double* state, double* y);

}  // namespace ma::ref
