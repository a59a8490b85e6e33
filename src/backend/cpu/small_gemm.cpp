#include "backend/cpu/small_gemm.h"

#include <cstdlib>

#include "backend/cpu/small_gemm_tiles.h"

namespace ma::cpu {

// Baseline x86-64 has 16 SSE registers: 6 x 2 accumulators take 12 of them.
SmallGemm portable_small_gemm() {
  return small_gemm_tiled<6, 2, 4>;
}

SmallGemm small_gemm() {
  static const SmallGemm chosen = [] {
    const char* force = std::getenv("MA_CPU_PORTABLE");
    const SmallGemm fast = avx2_small_gemm();
    if (fast != nullptr && !(force != nullptr && force[0] == '1')) return fast;
    return portable_small_gemm();
  }();
  return chosen;
}

}  // namespace ma::cpu
