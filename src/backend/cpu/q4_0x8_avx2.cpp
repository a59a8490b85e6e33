// AVX2 kernel for the 8-row interleaved Q4_0 layout (see q4_0x8.h). Compiled
// with AVX2/FMA/F16C flags (CMakeLists.txt: *_avx2.cpp); called only after
// the run-time CPU check in cpu_dispatch.cpp.
#include "backend/cpu/q4_0x8.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/token_chunks.h"
#include "quant/blocks.h"

namespace ma::cpu {
namespace {

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Up to four tokens share each unpacked weight group. The loop order (group
// outer, token inner) keeps the per-token int16 sums and float accumulators
// in registers instead of spilling them.
template <int kTokens>
void gemv_chunk(const BlockQ4_0x8* group, int64_t n_blocks, const BlockQ8_0* const* x,
                const int32_t* const* sums, float* const* y) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n_blocks; ++k) {
    const BlockQ4_0x8& b = group[k];
    __m256i p[kTokens];
    for (int t = 0; t < kTokens; ++t) p[t] = _mm256_setzero_si256();
    for (int g = 0; g < 4; ++g) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
      const __m256i lo = _mm256_and_si256(v, mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
      for (int t = 0; t < kTokens; ++t) {
        // Each int16 lane sums 8 products of at most 15 * 128: no overflow.
        const int8_t* q = x[t][k].qs + 8 * g;
        p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(lo, broadcast4(q)));
        p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(hi, broadcast4(q + 4)));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.d)));
    for (int t = 0; t < kTokens; ++t) {
      // Quants were stored unsigned (q + 8): remove 8 * sum(x) per row.
      const __m256i s =
          _mm256_sub_epi32(_mm256_madd_epi16(p[t], ones), _mm256_set1_epi32(8 * sums[t][k]));
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(x[t][k].d)));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

void gemv_avx2(const BlockQ4_0x8* group, int64_t n_blocks, const void* const* x_rows,
               const int32_t* const* x_sums, int n_tokens, float* const* y) {
  const auto* const* x = reinterpret_cast<const BlockQ8_0* const*>(x_rows);
  for_token_chunks<4, 1>(n_tokens, [&](auto k, int t) {
    gemv_chunk<decltype(k)::value>(group, n_blocks, x + t, x_sums + t, y + t);
  });
}

}  // namespace

GemvQ4_0x8 avx2_gemv_q4_0x8_unchecked() {
  return gemv_avx2;
}

}  // namespace ma::cpu

#else

namespace ma::cpu {
GemvQ4_0x8 avx2_gemv_q4_0x8() {
  return nullptr;
}
}  // namespace ma::cpu

#endif
