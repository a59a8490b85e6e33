// A small dense float GEMM for the chunked scans (tiles of 64-256 rows and
// columns that stay in cache), register-blocked and built once per
// instruction set; the fastest one the CPU runs is chosen at start-up.
#pragma once

#include <cstdint>

namespace ma::cpu {

// C[m x n] += A[m x k] * B[k x n]. A(i, p) = a[i * a_row + p * a_col], so A
// may be read in either orientation; B and C are row-major with leading
// dimensions ldb and ldc. With `lower`, row i sums only p <= i: A is known to
// be zero above its diagonal, and those products are skipped.
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t a_row = 0, a_col = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  bool lower = false;
};

using SmallGemm = void (*)(const GemmArgs& g);

SmallGemm portable_small_gemm();
SmallGemm avx2_small_gemm();  // nullptr without AVX2/FMA
// AVX2 where available; MA_CPU_PORTABLE=1 forces the portable one.
SmallGemm small_gemm();

}  // namespace ma::cpu
