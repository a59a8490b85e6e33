// The small GEMM of the chunked scans, every instruction-set build the CPU
// runs, against an fp64 product: both orientations of A, the lower-triangular
// mode, and sizes that leave ragged borders around the register tiles.
#include <gtest/gtest.h>

#include <vector>

#include "backend/cpu/small_gemm.h"
#include "op_test_util.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

struct GemmCase {
  int64_t m, n, k;
  bool a_transposed, lower;
};

void check(cpu::SmallGemm gemm, const GemmCase& gc) {
  const int64_t lda = gc.a_transposed ? gc.m + 3 : gc.k + 2;  // padded rows
  const int64_t ldb = gc.n + 1, ldc = gc.n + 4;
  auto a = test::random_floats(static_cast<size_t>((gc.a_transposed ? gc.k : gc.m) * lda), 1);
  const auto b = test::random_floats(static_cast<size_t>(gc.k * ldb), 2);
  auto c = test::random_floats(static_cast<size_t>(gc.m * ldc), 3);  // accumulated into
  const int64_t a_row = gc.a_transposed ? 1 : lda, a_col = gc.a_transposed ? lda : 1;
  if (gc.lower) {
    // The caller's promise: A is zero above its diagonal.
    for (int64_t i = 0; i < gc.m; ++i) {
      for (int64_t p = i + 1; p < gc.k; ++p) a[static_cast<size_t>(i * a_row + p * a_col)] = 0;
    }
  }
  std::vector<double> want(c.begin(), c.end());
  for (int64_t i = 0; i < gc.m; ++i) {
    for (int64_t j = 0; j < gc.n; ++j) {
      for (int64_t p = 0; p < gc.k; ++p) {
        want[static_cast<size_t>(i * ldc + j)] +=
            double{a[static_cast<size_t>(i * a_row + p * a_col)]} *
            b[static_cast<size_t>(p * ldb + j)];
      }
    }
  }
  gemm({.m = gc.m,
        .n = gc.n,
        .k = gc.k,
        .a = a.data(),
        .a_row = a_row,
        .a_col = a_col,
        .b = b.data(),
        .ldb = ldb,
        .c = c.data(),
        .ldc = ldc,
        .lower = gc.lower});
  EXPECT_LT(test::nmse(c.data(), want.data(), c.size()), tolerance::kFp32Nmse)
      << gc.m << "x" << gc.n << "x" << gc.k << " transposed " << gc.a_transposed << " lower "
      << gc.lower;
}

TEST(SmallGemm, EveryBuildMatchesFp64Product) {
  std::vector<cpu::SmallGemm> builds{cpu::portable_small_gemm()};
  if (cpu::avx2_small_gemm() != nullptr) builds.push_back(cpu::avx2_small_gemm());
  for (cpu::SmallGemm gemm : builds) {
    for (const GemmCase& gc :
         {GemmCase{64, 64, 128, false, false}, GemmCase{64, 64, 64, false, true},
          GemmCase{128, 64, 64, true, false}, GemmCase{13, 21, 9, false, false},
          GemmCase{13, 21, 13, false, true}, GemmCase{7, 3, 5, true, false},
          GemmCase{1, 40, 1, false, false}, GemmCase{50, 17, 50, false, true}}) {
      check(gemm, gc);
    }
  }
}

}  // namespace
}  // namespace ma
