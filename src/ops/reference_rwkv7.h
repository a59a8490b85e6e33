// RWKV-7 ("Goose", x070) in fp64, token after token, exactly as the
// recurrence is written: the generalized delta rule, the whole time mixing
// of one layer and the channel mixing. The fast ops (backend/cpu/rwkv7.h)
// and the mixers (mixers/rwkv7.h) are tested against these.
//
// Layouts: activations are [tokens x C] with C = n_head * head_size. The wkv
// state of a layer is [n_head x N x N]: per head a matrix h with one row per
// key channel and one column per value channel (flash-linear-attention's
// order; llama.cpp stores its transpose), so that every step of the fast
// kernels runs along contiguous value rows.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/weight.h"

namespace ma {

struct Rwkv7Shape {
  int64_t n_embd = 0;      // C
  int64_t head_size = 0;   // N
  int64_t rank_decay = 0;  // low-rank width of w's projection
  int64_t rank_iclr = 0;   // of a's (the in-context learning rate)
  int64_t rank_value = 0;  // of the value-residual mix
  int64_t rank_gate = 0;   // of the output gate
  double group_norm_eps = 64e-5;

  int64_t n_head() const { return n_embd / head_size; }
};

// One layer's time mixing, named as in llama.cpp's `rwkv7` GGUF layout.
// Matrices are {in, out} (ggml order).
struct Rwkv7TimeMixWeights {
  std::vector<float> lerp;        // [6 x C] time_mix_lerp_fused: r, w, k, v, a, g
  Weight receptance, key, value;  // {C, C}
  Weight output;                  // {C, C}
  std::vector<float> w0;          // [C] decay bias
  Weight w1, w2;                  // {C, rank_decay}, {rank_decay, C}
  std::vector<float> a0;          // [C]
  Weight a1, a2;                  // {C, rank_iclr}, {rank_iclr, C}
  std::vector<float> v0;          // [C] (the first layer has them but does not use them)
  Weight v1, v2;                  // {C, rank_value}, {rank_value, C}
  Weight g1, g2;                  // {C, rank_gate}, {rank_gate, C}
  std::vector<float> k_k;         // [C] scales k into the removal key
  std::vector<float> k_a;         // [C] how much a scales the replacement key
  std::vector<float> r_k;         // [C] per-channel bonus of r.k
  std::vector<float> ln_w, ln_b;  // [C] group norm, one group per head
};

// Token shift mixing slot i of time_mix_lerp_fused.
enum Rwkv7Lerp : int { kLerpR = 0, kLerpW, kLerpK, kLerpV, kLerpA, kLerpG, kLerpCount };

// exp(-0.5): the decay is w = exp(-kDecayScale * sigmoid(w0 + w2 tanh(w1 x))),
// so every channel keeps between exp(-0.607) = 0.545 and all of its state.
inline constexpr double kRwkv7DecayScale = 0.6065306597126334;

namespace ref {

// The generalized delta rule over T tokens, per head (h: key x value):
//   h = diag(w_t) h + b_t (a_t^T h) + k_t v_t^T,   y_t = h^T r_t
// RWKV-7 passes a = -kk (the normalised removal key) and b = kk * iclr.
// r, w, k, v, a, b: [T x C]; state: [H x N x N], in and out; y: [T x C].
void rwkv7_wkv(const double* r, const double* w, const double* k, const double* v, const double* a,
               const double* b, int64_t n_tokens, int64_t n_head, int64_t head_size, double* state,
               double* y);

// A layer's time mixing for T tokens of x (already layer-normed): token
// shift against `shift` ([C], the previous token's x; updated), the
// projections, the value residual (the first layer stores its values in
// v_first [T x C], later layers mix theirs towards it), the wkv recurrence
// on `wkv` ([H x N x N], updated), group norm, the r.k bonus, the gate and
// the output projection into out [T x C].
void rwkv7_time_mix(const Rwkv7TimeMixWeights& w, const Rwkv7Shape& s, bool first_layer,
                    const double* x, int64_t n_tokens, double* shift, double* wkv, double* v_first,
                    double* out);

// Channel mixing: out = value relu(key (x + (x_prev - x) lerp_k))^2, with
// x_prev from `shift` ([C], updated) for the first token.
void rwkv7_channel_mix(const std::vector<float>& lerp_k, const Weight& key, const Weight& value,
                       const double* x, int64_t n_tokens, double* shift, double* out);

}  // namespace ref
}  // namespace ma
