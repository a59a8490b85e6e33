// fp64 reference implementations of every op the engine uses. Slow and
// obvious on purpose: the fast backends are tested against these.
//
// Layouts: activations are row-major [tokens x features]; attention tensors
// are [tokens x heads x head_dim].
#pragma once

#include <cstdint>
#include <vector>

#include "backend/weight.h"
#include "ops/rope.h"

namespace ma::ref {

// y[t][o] = sum_i W[o][i] x[t][i], W dequantized exactly from its file type.
void matmul(const Weight& w, const double* x, int64_t n_tokens, double* y);

void rms_norm(const double* x, const float* weight, int64_t n_tokens, int64_t dim, double eps,
              double* y);

// y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, per token (LayerNorm).
// bias may be null; x and y may alias.
void layer_norm(const double* x, const float* weight, const float* bias, int64_t n_tokens,
                int64_t dim, double eps, double* y);

// In place on [n_tokens x n_heads x head_dim]; token t is at positions[t].
void rope(double* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int64_t* positions,
          const RopeParams& p);

struct AttentionShape {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  double scale = 0;    // usually 1/sqrt(head_dim)
  int64_t window = 0;  // > 0: a query at p sees keys in (p - window, p]
  double softcap = 0;  // > 0: scores = softcap * tanh(scores / softcap)
};

// Causal attention of queries q [T x n_head x d] at q_pos against keys/values
// [S x n_head_kv x d] at k_pos (key s visible iff k_pos[s] <= q_pos[t] and in window).
void attention(const double* q, const int64_t* q_pos, int64_t n_q, const double* k, const double* v,
               const int64_t* k_pos, int64_t n_kv, const AttentionShape& shape, double* out);

void swiglu(const double* gate, const double* up, int64_t n, double* out);  // silu(g) * u
void geglu(const double* gate, const double* up, int64_t n, double* out);   // gelu_tanh(g) * u

// Row `token` of an embedding table, dequantized.
std::vector<double> embedding_row(const Weight& table, int64_t token);

void softmax(double* x, int64_t n);

}  // namespace ma::ref
