// The body of the small GEMM (small_gemm.h) in GCC/Clang vector extensions:
// each file that includes it (small_gemm.cpp, small_gemm_avx2.cpp, ...) is
// built with its own instruction-set flags and so gets its own machine code,
// kept apart by internal linkage. Include it from those files only.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "backend/cpu/small_gemm.h"

namespace ma::cpu {
namespace {  // one copy per instruction set, see above

// GCC ignores a vector_size that depends on a template parameter, so the
// widths are spelled out and picked by lane count.
using Vec4 = float __attribute__((vector_size(4 * sizeof(float))));
using Vec8 = float __attribute__((vector_size(8 * sizeof(float))));

template <int kLanes>
struct Lanes {
  static_assert(kLanes == 4 || kLanes == 8);
  using Vec = std::conditional_t<kLanes == 4, Vec4, Vec8>;
  static_assert(sizeof(Vec) == kLanes * sizeof(float));
  static Vec load(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static void store(float* p, Vec v) { std::memcpy(p, &v, sizeof(v)); }
};

// C[kRows x kVecs*kLanes] += A B over k products, accumulated in registers.
template <int kRows, int kVecs, int kLanes>
void gemm_tile(int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
               float* c, int64_t ldc) {
  using L = Lanes<kLanes>;
  typename L::Vec acc[kRows][kVecs] = {};
  for (int64_t p = 0; p < k; ++p) {
    typename L::Vec bv[kVecs];
    for (int j = 0; j < kVecs; ++j) bv[j] = L::load(b + p * ldb + j * kLanes);
    for (int i = 0; i < kRows; ++i) {
      const float av = a[i * a_row + p * a_col];
      for (int j = 0; j < kVecs; ++j) acc[i][j] += av * bv[j];
    }
  }
  for (int i = 0; i < kRows; ++i) {
    for (int j = 0; j < kVecs; ++j) {
      float* cij = c + i * ldc + j * kLanes;
      L::store(cij, L::load(cij) + acc[i][j]);
    }
  }
}

using TileFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                        int64_t);

// tiles[r - 1] computes r rows, so a ragged last row block still runs in registers.
template <int kRows, int kVecs, int kLanes, size_t... kIndex>
constexpr std::array<TileFn, kRows> make_tiles(std::index_sequence<kIndex...>) {
  return {gemm_tile<static_cast<int>(kIndex) + 1, kVecs, kLanes>...};
}

// The columns right of the last whole tile: plain loops.
void gemm_border(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t a_row,
                 int64_t a_col, const float* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p) acc += a[i * a_row + p * a_col] * b[p * ldb + j];
      c[i * ldc + j] += acc;
    }
  }
}

template <int kRows, int kVecs, int kLanes>
void small_gemm_tiled(const GemmArgs& g) {
  static constexpr auto kTiles =
      make_tiles<kRows, kVecs, kLanes>(std::make_index_sequence<kRows>{});
  constexpr int64_t kCols = int64_t{kVecs} * kLanes;
  for (int64_t i0 = 0; i0 < g.m; i0 += kRows) {
    const int64_t rows = std::min<int64_t>(kRows, g.m - i0);
    const int64_t k = g.lower ? std::min(g.k, i0 + rows) : g.k;
    const float* a = g.a + i0 * g.a_row;
    float* c = g.c + i0 * g.ldc;
    const TileFn tile = kTiles[static_cast<size_t>(rows - 1)];
    int64_t j0 = 0;
    for (; j0 + kCols <= g.n; j0 += kCols)
      tile(k, a, g.a_row, g.a_col, g.b + j0, g.ldb, c + j0, g.ldc);
    if (j0 < g.n) {
      gemm_border(rows, g.n - j0, k, a, g.a_row, g.a_col, g.b + j0, g.ldb, c + j0, g.ldc);
    }
  }
}

}  // namespace
}  // namespace ma::cpu
