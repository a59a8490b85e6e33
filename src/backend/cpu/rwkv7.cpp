#include "backend/cpu/rwkv7.h"

#include <algorithm>

#include "backend/cpu/small_gemm.h"

namespace ma::cpu {
namespace {

// One head, tokens one after another. Every step runs along contiguous value
// rows of the state: the removed value a^T h, then each key row's update
// and its share of y = h^T r.
void recurrent_head(const Rwkv7WkvInputs& in, const Rwkv7WkvShape& s, int64_t head, float* h,
                    float* y) {
  const int64_t n = s.head_size, c = s.n_head * n;
  float removed[kRwkv7MaxHeadSize], out[kRwkv7MaxHeadSize];
  for (int64_t t = 0; t < s.n_tokens; ++t) {
    const int64_t off = t * c + head * n;
    const float *r = in.r + off, *w = in.w + off, *k = in.k + off, *a = in.a + off, *b = in.b + off,
                *v = in.v + off;
    std::fill(removed, removed + n, 0.0f);
    for (int64_t j = 0; j < n; ++j) {
      const float* row = h + j * n;
      for (int64_t i = 0; i < n; ++i) removed[i] += a[j] * row[i];
    }
    std::fill(out, out + n, 0.0f);
    for (int64_t j = 0; j < n; ++j) {
      float* row = h + j * n;
      const float wj = w[j], bj = b[j], kj = k[j], rj = r[j];
      for (int64_t i = 0; i < n; ++i) {
        row[i] = row[i] * wj + bj * removed[i] + kj * v[i];
        out[i] += rj * row[i];
      }
    }
    std::copy(out, out + n, y + off);
  }
}

// One chunk of one head in the WY / UT form. With h the state before the
// chunk (key rows), g_t = w_1 ... w_t the decay inside the chunk (inclusive)
// and u_t = h_{t-1}^T a_t the value the delta rule removes at token t:
//   u_t = h^T a_hat_t + sum_{s<t} (ab[t][s] u_s + ak[t][s] v_s)      (a triangular solve)
//   y_t = h^T r_hat_t + sum_{s<=t} (rb[t][s] u_s + rk[t][s] v_s)
//   h  <- diag(g_end) (h + sum_s (b_chk_s u_s^T + k_chk_s v_s^T))
// where a_hat_t = a_t g_{t-1}, r_hat_t = r_t g_t, b_chk_s = b_s / g_s,
// k_chk_s = k_s / g_s, ab[t][s] = a_hat_t . b_chk_s and so on. All but the
// solve are small matrix products.
struct ChunkScratch {
  static constexpr int64_t kTokensByHead = kRwkv7Chunk * kRwkv7MaxHeadSize;
  static constexpr int64_t kPairs = kRwkv7Chunk * kRwkv7Chunk;

  float a_hat[kTokensByHead];  // [L x N]
  float r_hat[kTokensByHead];  // [L x N]
  float b_chk[kTokensByHead];  // [N x L], transposed
  float k_chk[kTokensByHead];  // [N x L], transposed
  float u[kTokensByHead];      // [L x N]
  float decay_end[kRwkv7MaxHeadSize];
  float ab[kPairs], ak[kPairs], rb[kPairs], rk[kPairs];  // [L x L]
};

// c [m x cols] += a [m x k] b [k x cols], every matrix row-major with its own
// row stride; `lower`: a is zero above its diagonal.
void add_product(SmallGemm gemm, int64_t m, int64_t cols, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc, bool lower = false) {
  gemm({.m = m,
        .n = cols,
        .k = k,
        .a = a,
        .a_row = lda,
        .a_col = 1,
        .b = b,
        .ldb = ldb,
        .c = c,
        .ldc = ldc,
        .lower = lower});
}

void chunk(SmallGemm gemm, const Rwkv7WkvInputs& in, const Rwkv7WkvShape& s, int64_t head,
           int64_t t0, int64_t len, float* h, float* y, ChunkScratch& cs) {
  constexpr int64_t L = kRwkv7Chunk;
  const int64_t n = s.head_size, c = s.n_head * n, first = t0 * c + head * n;
  float* g = cs.decay_end;
  std::fill(g, g + n, 1.0f);
  for (int64_t t = 0; t < len; ++t) {
    const int64_t off = first + t * c;
    for (int64_t j = 0; j < n; ++j) {
      cs.a_hat[t * n + j] = in.a[off + j] * g[j];
      g[j] *= in.w[off + j];
      cs.r_hat[t * n + j] = in.r[off + j] * g[j];
      const float inv = 1.0f / g[j];
      cs.b_chk[j * L + t] = in.b[off + j] * inv;
      cs.k_chk[j * L + t] = in.k[off + j] * inv;
    }
  }
  // The pairwise weights, masked to the triangles the formulas use.
  for (float* m : {cs.ab, cs.ak, cs.rb, cs.rk}) std::fill(m, m + L * L, 0.0f);
  add_product(gemm, len, len, n, cs.a_hat, n, cs.b_chk, L, cs.ab, L);
  add_product(gemm, len, len, n, cs.a_hat, n, cs.k_chk, L, cs.ak, L);
  add_product(gemm, len, len, n, cs.r_hat, n, cs.b_chk, L, cs.rb, L);
  add_product(gemm, len, len, n, cs.r_hat, n, cs.k_chk, L, cs.rk, L);
  for (int64_t t = 0; t < len; ++t) {
    for (int64_t p = t; p < len; ++p) cs.ak[t * L + p] = 0.0f;
    for (int64_t p = t + 1; p < len; ++p) cs.rb[t * L + p] = cs.rk[t * L + p] = 0.0f;
  }

  // u = h^T a_hat + ak v, then the triangular solve through ab.
  const float* v = in.v + first;  // rows of stride c
  float* u = cs.u;
  std::fill(u, u + len * n, 0.0f);
  add_product(gemm, len, n, n, cs.a_hat, n, h, n, u, n);
  add_product(gemm, len, n, len, cs.ak, L, v, c, u, n, true);
  for (int64_t t = 1; t < len; ++t) {
    for (int64_t p = 0; p < t; ++p) {
      const float m = cs.ab[t * L + p];
      for (int64_t i = 0; i < n; ++i) u[t * n + i] += m * u[p * n + i];
    }
  }

  // y = h^T r_hat + rb u + rk v, straight into the output rows.
  float* yc = y + first;
  for (int64_t t = 0; t < len; ++t) std::fill(yc + t * c, yc + t * c + n, 0.0f);
  add_product(gemm, len, n, n, cs.r_hat, n, h, n, yc, c);
  add_product(gemm, len, n, len, cs.rb, L, u, n, yc, c, true);
  add_product(gemm, len, n, len, cs.rk, L, v, c, yc, c, true);

  // The state at the chunk's end.
  add_product(gemm, n, n, len, cs.b_chk, L, u, n, h, n);
  add_product(gemm, n, n, len, cs.k_chk, L, v, c, h, n);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < n; ++i) h[j * n + i] *= g[j];
  }
}

}  // namespace

void rwkv7_wkv_recurrent(ThreadPool& pool, const Rwkv7WkvInputs& in, const Rwkv7WkvShape& s,
                         float* state, float* y) {
  const int64_t nn = s.head_size * s.head_size;
  pool.parallel_for(s.n_head, [&](int64_t h0, int64_t h1) {
    for (int64_t head = h0; head < h1; ++head) recurrent_head(in, s, head, state + head * nn, y);
  });
}

void rwkv7_wkv_chunked(ThreadPool& pool, const Rwkv7WkvInputs& in, const Rwkv7WkvShape& s,
                       float* state, float* y) {
  const SmallGemm gemm = small_gemm();
  const int64_t nn = s.head_size * s.head_size;
  pool.parallel_for(s.n_head, [&](int64_t h0, int64_t h1) {
    ChunkScratch cs;
    for (int64_t head = h0; head < h1; ++head) {
      for (int64_t t0 = 0; t0 < s.n_tokens; t0 += kRwkv7Chunk) {
        chunk(gemm, in, s, head, t0, std::min(kRwkv7Chunk, s.n_tokens - t0), state + head * nn, y,
              cs);
      }
    }
  });
}

}  // namespace ma::cpu
