// VNNI kernel for the 8-row interleaved Q4_0 layout (see q4_0x8.h): each
// 32-bit lane holds 4 consecutive quants of one row, which is exactly what
// vpdpbusd multiplies and sums, so one instruction replaces the AVX2 kernel's
// multiply / widen / add sequence. Compiled with AVX512-VNNI/VL flags
// (CMakeLists.txt: *_vnni.cpp) and called only after the run-time CPU check in cpu_dispatch.cpp.
#include "backend/cpu/q4_0x8.h"

#if defined(__x86_64__) && defined(__AVX512VNNI__) && defined(__AVX512VL__) && defined(__F16C__)
#include <immintrin.h>

#include "backend/cpu/token_chunks.h"
#include "backend/cpu/vnni_bcast.h"
#include "quant/blocks.h"

namespace ma::cpu {
namespace {

template <int kTokens>
void gemv_chunk(const BlockQ4_0x8* group, int64_t n_blocks, const BlockQ8_0* const* x,
                const int32_t* const* sums, float* const* y) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n_blocks; ++k) {
    const BlockQ4_0x8& b = group[k];
    __m256i p[kTokens];
    for (int t = 0; t < kTokens; ++t) p[t] = _mm256_set1_epi32(-8 * sums[t][k]);
    for (int g = 0; g < 4; ++g) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
      const __m256i lo = _mm256_and_si256(v, mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
      for (int t = 0; t < kTokens; ++t) {
        const int8_t* q = x[t][k].qs + 8 * g;
        p[t] = dpbusd_bcast(p[t], lo, q);
        p[t] = dpbusd_bcast(p[t], hi, q + 4);
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
    for (int t = 0; t < kTokens; ++t) {
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(x[t][k].d)));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p[t]), acc[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

void gemv_vnni(const BlockQ4_0x8* group, int64_t n_blocks, const void* const* x_rows,
               const int32_t* const* x_sums, int n_tokens, float* const* y) {
  const auto* const* x = reinterpret_cast<const BlockQ8_0* const*>(x_rows);
  // Eight tokens give eight independent vpdpbusd chains, enough to hide its
  // latency (four leave the unit half idle); AVX-512 has the 32 registers.
  for_token_chunks<8, 4, 1>(n_tokens, [&](auto k, int t) {
    gemv_chunk<decltype(k)::value>(group, n_blocks, x + t, x_sums + t, y + t);
  });
}

}  // namespace

GemvQ4_0x8 vnni_gemv_q4_0x8_unchecked() {
  return gemv_vnni;
}

}  // namespace ma::cpu

#else

namespace ma::cpu {
GemvQ4_0x8 vnni_gemv_q4_0x8() {
  return nullptr;
}
}  // namespace ma::cpu

#endif
