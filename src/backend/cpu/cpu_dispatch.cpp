// Run-time CPU feature checks in front of the kernels built with extra
// instruction sets. This file is compiled for the baseline CPU, so the checks
// themselves can run anywhere; the *_unchecked getters live in the files
// built with AVX2 / AVX-512 flags and are called only when the CPU has them.
#include "backend/cpu/dot_kernels.h"
#include "backend/cpu/q4_0x8.h"
#include "backend/cpu/q8_0x8.h"
#include "backend/cpu/small_gemm.h"

namespace ma::cpu {

const DotKernels* avx2_dot_kernels_unchecked();
GemvQ4_0x8 avx2_gemv_q4_0x8_unchecked();
GemvQ4_0x8 vnni_gemv_q4_0x8_unchecked();
GemvQ8_0x8 avx2_gemv_q8_0x8_unchecked();
GemvQ8_0x8 vnni_gemv_q8_0x8_unchecked();
SmallGemm avx2_small_gemm_unchecked();

namespace {

bool has_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool has_avx512_vnni() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

}  // namespace

const DotKernels* avx2_dot_kernels() {
  return has_avx2() ? avx2_dot_kernels_unchecked() : nullptr;
}

GemvQ4_0x8 avx2_gemv_q4_0x8() {
  return has_avx2() ? avx2_gemv_q4_0x8_unchecked() : nullptr;
}

SmallGemm avx2_small_gemm() {
  return has_avx2() ? avx2_small_gemm_unchecked() : nullptr;
}

GemvQ4_0x8 vnni_gemv_q4_0x8() {
  return has_avx512_vnni() ? vnni_gemv_q4_0x8_unchecked() : nullptr;
}

GemvQ8_0x8 avx2_gemv_q8_0x8() {
  return has_avx2() ? avx2_gemv_q8_0x8_unchecked() : nullptr;
}

GemvQ8_0x8 vnni_gemv_q8_0x8() {
  return has_avx512_vnni() ? vnni_gemv_q8_0x8_unchecked() : nullptr;
}

}  // namespace ma::cpu
