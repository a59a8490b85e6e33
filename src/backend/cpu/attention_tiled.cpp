#include "backend/cpu/attention_tiled.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "backend/cpu/dot_kernels.h"
#include "backend/cpu/small_gemm.h"

namespace ma::cpu {
namespace {

// Query rows per tile (tokens x heads of one KV group): enough rows to reuse
// each converted key/value row many times while the tile's scores
// (rows x keys floats) stay in L2.
constexpr int64_t kTileRows = 64;

// Cached rows [s0, s0 + n) of KV head g as float, row-major [n x d].
void gather_rows(const DotKernels& dk, const KvLayerView& kv, const void* base, int64_t g,
                 int64_t d, int64_t s0, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t off = kv.offset(s0 + i) + g * d;
    float* row = dst + i * d;
    if (kv.type == KvType::kF32) {
      std::memcpy(row, static_cast<const float*>(base) + off, static_cast<size_t>(d) * 4);
    } else {
      std::fill(row, row + d, 0.0f);  // 0 + 1 * v: the exact conversion, vectorized
      dk.axpy_f16(row, 1.0f, static_cast<const uint16_t*>(base) + off, d);
    }
  }
}

struct Tile {
  int64_t t0, t1;   // query tokens
  int64_t g;        // KV head
  int64_t s0, n_s;  // keys any of the tile's queries can see
};

void run_tile(const DotKernels& dk, SmallGemm gemm, const Tile& tl, const float* q,
              const int64_t* q_pos, const KvLayerView& kv, const ref::AttentionShape& sh,
              float* buf, float* out) {
  const int64_t d = sh.head_dim, group = sh.n_head / sh.n_head_kv;
  const int64_t m = (tl.t1 - tl.t0) * group, n_s = tl.n_s;
  float* kf = buf;           // [n_s x d]
  float* vf = kf + n_s * d;  // [n_s x d]
  float* qt = vf + n_s * d;  // [d x m]: the tile's queries, scaled, transposed
  float* st = qt + d * m;    // [n_s x m]: scores, then probabilities
  float* o = st + n_s * m;   // [m x d]
  gather_rows(dk, kv, kv.k, tl.g, d, tl.s0, n_s, kf);
  gather_rows(dk, kv, kv.v, tl.g, d, tl.s0, n_s, vf);
  const float scale = static_cast<float>(sh.scale);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = tl.t0 + i / group, h = tl.g * group + i % group;
    const float* qv = q + (t * sh.n_head + h) * d;
    for (int64_t p = 0; p < d; ++p) qt[p * m + i] = qv[p] * scale;
  }
  std::fill(st, st + n_s * m, 0.0f);
  // S^T = K Q^T
  gemm({.m = n_s,
        .n = m,
        .k = d,
        .a = kf,
        .a_row = d,
        .a_col = 1,
        .b = qt,
        .ldb = m,
        .c = st,
        .ldc = m});
  const float softcap = static_cast<float>(sh.softcap);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = tl.t0 + i / group;
    // Keys this query sees, relative to s0; the rest of its column becomes 0.
    const int64_t last = std::min(q_pos[t], tl.s0 + n_s - 1) - tl.s0;
    const int64_t first =
        (sh.window > 0 ? std::max<int64_t>(0, q_pos[t] - sh.window + 1) : 0) - tl.s0;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t s = first; s <= last; ++s) {
      float& x = st[s * m + i];
      if (softcap > 0) x = softcap * std::tanh(x / softcap);
      mx = std::max(mx, x);
    }
    float sum = 0;
    for (int64_t s = first; s <= last; ++s) {
      float& x = st[s * m + i];
      x = std::exp(x - mx);
      sum += x;
    }
    const float inv = sum > 0 ? 1.0f / sum : 0.0f;
    for (int64_t s = 0; s < n_s; ++s) {
      float& x = st[s * m + i];
      x = s >= first && s <= last ? x * inv : 0.0f;
    }
  }
  std::fill(o, o + m * d, 0.0f);
  // O = P V, P read from S^T
  gemm({.m = m,
        .n = d,
        .k = n_s,
        .a = st,
        .a_row = 1,
        .a_col = m,
        .b = vf,
        .ldb = d,
        .c = o,
        .ldc = d});
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = tl.t0 + i / group, h = tl.g * group + i % group;
    std::memcpy(out + (t * sh.n_head + h) * d, o + i * d, static_cast<size_t>(d) * 4);
  }
}

}  // namespace

void attention_tiled(ThreadPool& pool, const float* q, const int64_t* q_pos, int64_t n_q,
                     const KvLayerView& kv, int64_t n_kv, const ref::AttentionShape& sh, float* out,
                     AttentionScratch& scratch) {
  const DotKernels& dk = dot_kernels();
  const SmallGemm gemm = small_gemm();
  const int64_t d = sh.head_dim, group = sh.n_head / sh.n_head_kv;
  const int64_t tq = std::max<int64_t>(1, kTileRows / group);
  const int64_t n_tiles = (n_q + tq - 1) / tq;
  // Tiles in token order with the KV heads innermost: consecutive jobs cost
  // about the same, so handing them out round-robin balances the threads.
  const int64_t n_jobs = n_tiles * sh.n_head_kv;
  const int64_t m_max = tq * group;
  const size_t buf_floats =
      static_cast<size_t>(2 * n_kv * d + d * m_max + n_kv * m_max + m_max * d);
  scratch.ensure_threads(pool.size());
  for (int i = 0; i < pool.size(); ++i) scratch.tile(i, buf_floats);
  pool.run([&](int ith, int nth) {
    float* buf = scratch.tile(ith, buf_floats);
    for (int64_t job = ith; job < n_jobs; job += nth) {
      Tile tl;
      tl.t0 = job / sh.n_head_kv * tq;
      tl.t1 = std::min(n_q, tl.t0 + tq);
      tl.g = job % sh.n_head_kv;
      int64_t lo = n_kv, hi = -1;
      for (int64_t t = tl.t0; t < tl.t1; ++t) {
        const int64_t last = std::min(q_pos[t], n_kv - 1);
        const int64_t first = sh.window > 0 ? std::max<int64_t>(0, q_pos[t] - sh.window + 1) : 0;
        lo = std::min(lo, first);
        hi = std::max(hi, last);
      }
      tl.s0 = lo;
      tl.n_s = hi - lo + 1;
      if (tl.n_s <= 0) {  // no query of the tile sees a key
        for (int64_t t = tl.t0; t < tl.t1; ++t) {
          float* o = out + (t * sh.n_head + tl.g * group) * d;
          std::fill(o, o + group * d, 0.0f);
        }
        continue;
      }
      run_tile(dk, gemm, tl, q, q_pos, kv, sh, buf, out);
    }
  });
}

}  // namespace ma::cpu
