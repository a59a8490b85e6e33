// The small GEMM built with AVX2 + FMA (see CMakeLists.txt); called only
// after cpu_dispatch.cpp has checked the CPU.
#include "backend/cpu/small_gemm_tiles.h"

namespace ma::cpu {

// 16 YMM registers: 6 x 2 accumulators take 12, leaving B's row and A's broadcast.
SmallGemm avx2_small_gemm_unchecked() {
  return small_gemm_tiled<6, 2, 8>;
}

}  // namespace ma::cpu
