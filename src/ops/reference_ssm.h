// fp64 references of the state-space ops: the causal depthwise conv1d with
// its tail state and Mamba's selective scan, token after token, exactly as
// the recurrences are written. The fast ops (backend/cpu/ssm.h) and the
// mixers are tested against these.
//
// Layouts: activations are [tokens x channels] with a row stride; states are
// row-major as documented per op.
#pragma once

#include <cstdint>

namespace ma::ref {

double softplus(double x);  // log(1 + e^x), as torch computes it (x above 20 stays x)
double silu(double x);      // x * sigmoid(x)

// y[t][c] = bias[c] + sum_k w[c][k] * in[t + k - (K-1)][c], where in[<0] comes
// from `tail`: [(K-1) x C], the inputs of the K-1 tokens before x, oldest
// first; on return it holds the last K-1 inputs. x: [T x C] with row stride
// x_stride; w: [C x K] (w[c][K-1] weighs the current token); bias may be null;
// y: [T x C] dense.
void causal_conv1d(const double* x, int64_t x_stride, int64_t n_tokens, int64_t channels,
                   const float* w, int64_t kernel, const float* bias, double* tail, double* y);

// Mamba-1 selective scan over D channels with N states each:
//   h[d][s] = exp(dt[t][d] A[d][s]) h[d][s] + dt[t][d] B[t][s] x[t][d]
//   y[t][d] = sum_s C[t][s] h[d][s] + skip[d] x[t][d]
// x, dt (already softplus'ed): [T x D]; A: [D x N]; B, C: [T x N] with row
// stride bc_stride; skip: [D]; state h: [D x N], in and out; y: [T x D].
void selective_scan(const double* x, const double* dt, const float* a, const double* b,
                    const double* c, int64_t bc_stride, const float* skip, int64_t n_tokens,
                    int64_t d_inner, int64_t d_state, double* state, double* y);

// Mamba-2 (SSD) scan over H heads of P channels, with N states per channel
// and G groups of B/C shared by H/G consecutive heads; A is one scalar per head:
//   h[i][p][s] = exp(dt[t][i] A[i]) h[i][p][s] + dt[t][i] B[t][g(i)][s] x[t][i][p]
//   y[t][i][p] = sum_s C[t][g(i)][s] h[i][p][s] + skip[i] x[t][i][p]
// x: [T x H*P] with row stride x_stride; dt (softplus'ed): [T x H]; B, C:
// [T x G*N] with row stride bc_stride; state: [H x P x N]; y: [T x H*P].
struct SsdShape {
  int64_t n_head = 0;
  int64_t head_dim = 0;
  int64_t d_state = 0;
  int64_t n_group = 1;
};
void ssd_scan(const double* x, int64_t x_stride, const double* dt, const float* a, const double* b,
              const double* c, int64_t bc_stride, const float* skip, int64_t n_tokens,
              const SsdShape& s, double* state, double* y);

}  // namespace ma::ref
