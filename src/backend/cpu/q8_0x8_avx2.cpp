// AVX2 kernel for the 8-row interleaved Q8_0 layout (see q8_0x8.h). Without
// VNNI the stored +128 quants would overflow vpmaddubsw's int16 pairs, so
// they are turned back into signed bytes and multiplied with the usual sign
// trick (|w| times x carrying w's sign). Compiled with AVX2/FMA/F16C flags
// (CMakeLists.txt: *_avx2.cpp); called only after the run-time CPU check in
// cpu_dispatch.cpp.
#include "backend/cpu/q8_0x8.h"

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

template <int kTokens>
void gemv_chunk(const BlockQ8_0x8* group, int64_t n_blocks, const BlockQ8_0* const* x,
                float* const* y) {
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n_blocks; ++k) {
    const BlockQ8_0x8& b = group[k];
    __m256i p[kTokens];
    for (int t = 0; t < kTokens; ++t) p[t] = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      const __m256i w = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g)), bias);
      const __m256i aw = _mm256_abs_epi8(w);
      for (int t = 0; t < kTokens; ++t) {
        // Pairs of |w| * x are at most 2 * 128 * 127: no int16 overflow
        // (activation quants are within -127..127).
        const __m256i sx = _mm256_sign_epi8(broadcast4(x[t][k].qs + 4 * g), w);
        p[t] = _mm256_add_epi32(p[t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones));
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

void gemv_avx2(const BlockQ8_0x8* group, int64_t n_blocks, const void* const* x_rows,
               const int32_t* const* /*x_sums: not needed, the quants are made signed again*/,
               int n_tokens, float* const* y) {
  const auto* const* x = reinterpret_cast<const BlockQ8_0* const*>(x_rows);
  for_token_chunks<4, 1>(n_tokens, [&](auto k, int t) {
    gemv_chunk<decltype(k)::value>(group, n_blocks, x + t, y + t);
  });
}

}  // namespace

GemvQ8_0x8 avx2_gemv_q8_0x8_unchecked() {
  return gemv_avx2;
}

}  // namespace ma::cpu

#else

namespace ma::cpu {
GemvQ8_0x8 avx2_gemv_q8_0x8() {
  return nullptr;
}
}  // namespace ma::cpu

#endif
