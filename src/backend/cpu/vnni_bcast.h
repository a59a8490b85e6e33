// vpdpbusd with its 4-byte operand broadcast from memory, shared by the
// VNNI kernels of the interleaved layouts (q4_0x8_vnni.cpp, q8_0x8_vnni.cpp).
// Include only from files compiled with AVX512-VNNI/VL flags.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ma::cpu {

// acc += w . (the 4 bytes at x, broadcast), with the broadcast folded into
// the instruction's memory operand ({1to8}). Compilers emit a separate
// vpbroadcastd for _mm256_set1_epi32, and the loop is bound by instruction
// issue, so this saves one instruction per product.
using Unaligned32 = int32_t __attribute__((may_alias, aligned(1)));

inline __m256i dpbusd_bcast(__m256i acc, __m256i w, const int8_t* x) {
  __asm__("vpdpbusd %2%{1to8%}, %1, %0"
          : "+v"(acc)
          : "v"(w), "m"(*reinterpret_cast<const Unaligned32*>(x)));
  return acc;
}

}  // namespace ma::cpu
