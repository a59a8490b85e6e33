// Mamba-2's SSD scan in chunks (the "state space duality" form). Per head,
// with a = A dt the log decay of each token and cs[l] its running sum inside
// a chunk, the output of token l of a chunk is
//   y[l] = sum_{s<=l} e^(cs[l]-cs[s]) dt[s] (C[l].B[s]) x[s]   (inside the chunk)
//        + e^(cs[l]) C[l] . h_in                               (state entering it)
//        + skip x[l]
// and the chunk hands on h_out = e^(cs[last]) h_in + sum_s e^(cs[last]-cs[s]) dt[s] x[s] B[s]^T.
// The sums are small matrix products, so every chunk of every head runs in
// parallel; only the hand-off of states from chunk to chunk is sequential,
// and it costs 1/chunk_len of the rest.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "backend/cpu/scan_kernels.h"
#include "backend/cpu/small_gemm.h"
#include "backend/cpu/ssm.h"
#include "core/error.h"

namespace ma::cpu {
namespace {

// Chunk states of one window: about 16 MB, however long the prompt.
constexpr int64_t kWindowStateFloats = int64_t{1} << 22;

// cs[l] = A dt[0] + ... + A dt[l] over one chunk of one head, in double so
// that differences of large sums stay exact enough.
void running_log_decay(const float* dt, int64_t dt_stride, float a, int64_t len, double* cs) {
  double sum = 0;
  for (int64_t l = 0; l < len; ++l) {
    sum += double{a} * dt[l * dt_stride];
    cs[l] = sum;
  }
}

}  // namespace

void ssd_scan_chunked(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt,
                      const float* a, const float* b, const float* c, int64_t bc_stride,
                      const float* skip, int64_t n_tokens, const ref::SsdShape& s, float* state,
                      float* y, ScanChunking chunking) {
  if (chunking.chunk_len < 1 || chunking.window_chunks < 0) {
    throw Error("ssd_scan_chunked: invalid chunking (chunk_len " +
                std::to_string(chunking.chunk_len) + ", window_chunks " +
                std::to_string(chunking.window_chunks) + ")");
  }
  if (n_tokens <= 0) return;
  const int64_t H = s.n_head, P = s.head_dim, N = s.d_state, G = s.n_group;
  const int64_t heads_per_group = H / G, width = H * P, L = chunking.chunk_len;
  const int64_t n_chunks = (n_tokens + L - 1) / L;
  int64_t window = chunking.window_chunks;
  if (window == 0) window = std::max<int64_t>(1, kWindowStateFloats / (H * N * P));
  window = std::min(window, n_chunks);

  const auto n = [](int64_t v) { return static_cast<size_t>(v); };
  float* carry = scan::scratch(scan::kCarry, n(H * N * P));                   // [H x N x P]
  float* states = scan::scratch(scan::kWindowStates, n(window * H * N * P));  // [W x H x N x P]
  float* decay = scan::scratch(scan::kWindowSmall, n(window * H));            // [W x H]
  float* gram = scan::scratch(scan::kGram, n(window * G * L * L));            // [W x G x L x L]
  const SmallGemm gemm = small_gemm();

  // The state, transposed per head to [N x P] so that the products read its rows.
  pool.parallel_for(H, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t k = 0; k < N; ++k) carry[(i * N + k) * P + p] = state[(i * P + p) * N + k];
      }
    }
  });

  for (int64_t w0 = 0; w0 < n_chunks; w0 += window) {
    const int64_t nw = std::min(window, n_chunks - w0);
    const auto first_token = [&](int64_t ch) { return (w0 + ch) * L; };
    const auto length = [&](int64_t ch) { return std::min(L, n_tokens - first_token(ch)); };

    // 1. C B^T of each chunk and group, shared by the group's heads.
    pool.parallel_for(nw * G, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t ch = j / G, g = j % G, t0 = first_token(ch), len = length(ch);
        const float* bg = b + t0 * bc_stride + g * N;
        float* bt = scan::scratch(scan::kItem, n(N * len));  // B^T: [N x len]
        for (int64_t l = 0; l < len; ++l) {
          for (int64_t k = 0; k < N; ++k) bt[k * len + l] = bg[l * bc_stride + k];
        }
        float* out = gram + (ch * G + g) * L * L;  // [len x len], row stride L
        for (int64_t l = 0; l < len; ++l) std::memset(out + l * L, 0, n(len) * sizeof(float));
        gemm({.m = len,
              .n = len,
              .k = N,
              .a = c + t0 * bc_stride + g * N,
              .a_row = bc_stride,
              .a_col = 1,
              .b = bt,
              .ldb = len,
              .c = out,
              .ldc = L});
      }
    });

    // 2. Each chunk's end state as if it began from zero, and its total decay.
    pool.parallel_for(nw * H, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t ch = j / H, i = j % H, g = i / heads_per_group;
        const int64_t t0 = first_token(ch), len = length(ch);
        double* cs = scan::scratch<double>(scan::kItem, n(L));  // [len]
        float* wx = scan::scratch(scan::kItem, n(L * P));       // [len x P]: weighted x
        running_log_decay(dt + t0 * H + i, H, a[i], len, cs);
        for (int64_t l = 0; l < len; ++l) {
          const float w = std::exp(static_cast<float>(cs[len - 1] - cs[l])) * dt[(t0 + l) * H + i];
          const float* xl = x + (t0 + l) * x_stride + i * P;
          for (int64_t p = 0; p < P; ++p) wx[l * P + p] = w * xl[p];
        }
        float* st = states + (ch * H + i) * N * P;  // [N x P] = B^T wx
        std::memset(st, 0, n(N * P) * sizeof(float));
        gemm({.m = N,
              .n = P,
              .k = len,
              .a = b + t0 * bc_stride + g * N,
              .a_row = 1,
              .a_col = bc_stride,
              .b = wx,
              .ldb = P,
              .c = st,
              .ldc = P});
        decay[ch * H + i] = std::exp(static_cast<float>(cs[len - 1]));
      }
    });

    // 3. The hand-off, chunk after chunk: each chunk's slot receives the state
    //    entering it, and the carry moves on to the window's end.
    pool.parallel_for(H * N, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t i = r / N;
        float* h = carry + r * P;
        for (int64_t ch = 0; ch < nw; ++ch) {
          float* st = states + (ch * H * N + r) * P;
          const float d = decay[ch * H + i];
          for (int64_t p = 0; p < P; ++p) {
            const float own = st[p];
            st[p] = h[p];
            h[p] = d * h[p] + own;
          }
        }
      }
    });

    // 4. Outputs: the skip, the chunk's own tokens through the decay-masked
    //    C B^T, and the entering state read through C.
    pool.parallel_for(nw * H, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t ch = j / H, i = j % H, g = i / heads_per_group;
        const int64_t t0 = first_token(ch), len = length(ch);
        double* cs = scan::scratch<double>(scan::kItem, n(L));          // [len]
        float* dec = scan::scratch(scan::kItem, n(L + L * L + L * N));  // [len]: row l's decays
        float* mask = dec + L;                                          // [len x L]
        float* c_in = mask + L * L;                                     // [len x N]: e^(cs[l]) C[l]
        const float* dth = dt + t0 * H + i;
        running_log_decay(dth, H, a[i], len, cs);
        const float* gr = gram + (ch * G + g) * L * L;
        for (int64_t l = 0; l < len; ++l) {
          // Row l's decays from row l-1's: one product each, no exp per pair.
          const float step = std::exp(a[i] * dth[l * H]);
          for (int64_t q = 0; q < l; ++q) dec[q] *= step;
          dec[l] = 1.0f;
          float* row = mask + l * L;
          for (int64_t q = 0; q <= l; ++q) row[q] = dec[q] * dth[q * H] * gr[l * L + q];
          for (int64_t q = l + 1; q < len; ++q) row[q] = 0.0f;
        }
        const float* xt = x + t0 * x_stride + i * P;
        float* yt = y + t0 * width + i * P;
        for (int64_t l = 0; l < len; ++l) {
          for (int64_t p = 0; p < P; ++p) yt[l * width + p] = skip[i] * xt[l * x_stride + p];
        }
        gemm({.m = len,
              .n = P,
              .k = len,
              .a = mask,
              .a_row = L,
              .a_col = 1,
              .b = xt,
              .ldb = x_stride,
              .c = yt,
              .ldc = width,
              .lower = true});
        for (int64_t l = 0; l < len; ++l) {
          const float e = std::exp(static_cast<float>(cs[l]));
          const float* cl = c + (t0 + l) * bc_stride + g * N;
          for (int64_t k = 0; k < N; ++k) c_in[l * N + k] = e * cl[k];
        }
        gemm({.m = len,
              .n = P,
              .k = N,
              .a = c_in,
              .a_row = N,
              .a_col = 1,
              .b = states + (ch * H + i) * N * P,
              .ldb = P,
              .c = yt,
              .ldc = width});
      }
    });
  }

  pool.parallel_for(H, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t k = 0; k < N; ++k) state[(i * P + p) * N + k] = carry[(i * N + k) * P + p];
      }
    }
  });
}

}  // namespace ma::cpu
