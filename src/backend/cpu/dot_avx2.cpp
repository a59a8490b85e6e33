// AVX2 + FMA + F16C dot products. This file alone is compiled with those
// instruction sets (see CMakeLists.txt); cpu_dispatch.cpp, compiled without
// them, checks the CPU before anything here runs.
#include "backend/cpu/dot_kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "core/fp16.h"
#include "quant/blocks.h"

namespace ma::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// Sum of 32 signed x signed byte products as 8 int32 lanes converted to float.
inline __m256 mul_sum_i8(__m256i a, __m256i b) {
  const __m256i abs_a = _mm256_sign_epi8(a, a);
  const __m256i b_signed = _mm256_sign_epi8(b, a);
  const __m256i pairs = _mm256_maddubs_epi16(abs_a, b_signed);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

// Unsigned a (0..127) x signed b.
inline __m256 mul_sum_u8_i8(__m256i a, __m256i b) {
  const __m256i pairs = _mm256_maddubs_epi16(a, b);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

// 32 nibbles of a Q4 block as bytes 0..15, element order (low nibbles first).
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(raw, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
  return _mm256_set_m128i(hi, lo);
}

inline float half(uint16_t h) {
  return _cvtsh_ss(h);
}

float dot_f32(const float* w, const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
  }
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; ++i) s += w[i] * x[i];
  return s;
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
    const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8)));
    a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
  }
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) s += half(w[i]) * x[i];
  return s;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
    const __m256 wf = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
    acc = _mm256_fmadd_ps(wf, _mm256_loadu_ps(x + i), acc);
  }
  float s = hsum(acc);
  for (; i < n; ++i) s += bf16_to_fp32(w[i]) * x[i];
  return s;
}

float dot_q4_0(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ4_0*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  const int64_t nb = n / kQK;
  const __m256i eight = _mm256_set1_epi8(8);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i w0 = _mm256_sub_epi8(unpack_nibbles(w[b].qs), eight);
    const __m256i w1 = _mm256_sub_epi8(unpack_nibbles(w[b + 1].qs), eight);
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b + 1].qs));
    const __m256 d0 = _mm256_set1_ps(half(w[b].d) * half(x[b].d));
    const __m256 d1 = _mm256_set1_ps(half(w[b + 1].d) * half(x[b + 1].d));
    acc0 = _mm256_fmadd_ps(d0, mul_sum_i8(w0, x0), acc0);
    acc1 = _mm256_fmadd_ps(d1, mul_sum_i8(w1, x1), acc1);
  }
  for (; b < nb; ++b) {
    const __m256i w0 = _mm256_sub_epi8(unpack_nibbles(w[b].qs), eight);
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half(w[b].d) * half(x[b].d)), mul_sum_i8(w0, x0), acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

float dot_q4_1(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ4_1*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  const __m256i ones = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i w0 = unpack_nibbles(w[b].qs);
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const float dx = half(x[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w[b].d) * dx), mul_sum_u8_i8(w0, x0), acc);
    mins += half(w[b].m) * dx * hsum(mul_sum_u8_i8(ones, x0));
  }
  return hsum(acc) + mins;
}

float dot_q8_0(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ8_0*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int64_t nb = n / kQK;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b + 1].qs));
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half(w[b].d) * half(x[b].d)), mul_sum_i8(w0, x0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(half(w[b + 1].d) * half(x[b + 1].d)), mul_sum_i8(w1, x1),
                           acc1);
  }
  for (; b < nb; ++b) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half(w[b].d) * half(x[b].d)), mul_sum_i8(w0, x0), acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

void dot_q4_0_x4(const void* wv, const void* const* xv, int64_t n, float* out) {
  const auto* w = static_cast<const BlockQ4_0*>(wv);
  const BlockQ8_0* x[4];
  for (int j = 0; j < 4; ++j) x[j] = static_cast<const BlockQ8_0*>(xv[j]);
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i wq = _mm256_sub_epi8(unpack_nibbles(w[b].qs), eight);
    const __m256i abs_w = _mm256_sign_epi8(wq, wq);
    const float dw = half(w[b].d);
    for (int j = 0; j < 4; ++j) {
      const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs));
      const __m256i p =
          _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(y, wq)), ones);
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * half(x[j][b].d)), _mm256_cvtepi32_ps(p), acc[j]);
    }
  }
  for (int j = 0; j < 4; ++j) out[j] = hsum(acc[j]);
}

void dot_q8_0_x4(const void* wv, const void* const* xv, int64_t n, float* out) {
  const auto* w = static_cast<const BlockQ8_0*>(wv);
  const BlockQ8_0* x[4];
  for (int j = 0; j < 4; ++j) x[j] = static_cast<const BlockQ8_0*>(xv[j]);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i abs_w = _mm256_sign_epi8(wq, wq);
    const float dw = half(w[b].d);
    for (int j = 0; j < 4; ++j) {
      const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs));
      const __m256i p =
          _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(y, wq)), ones);
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * half(x[j][b].d)), _mm256_cvtepi32_ps(p), acc[j]);
    }
  }
  for (int j = 0; j < 4; ++j) out[j] = hsum(acc[j]);
}

float dot_q4_k(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ4_K*>(wv);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m256i mask = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    __m256i sum = _mm256_setzero_si256();
    int32_t m = 0;
    for (int j = 0; j < kQK_K / 64; ++j) {
      const ScaleMin lo = unpack_scale_min_k4(w[b].scales, 2 * j);
      const ScaleMin hi = unpack_scale_min_k4(w[b].scales, 2 * j + 1);
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs + 32 * j));
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs + 64 * j));
      const __m256i y1 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs + 64 * j + 32));
      const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(q, mask), y0);
      const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), mask), y1);
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p0, _mm256_set1_epi16(lo.scale)));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p1, _mm256_set1_epi16(hi.scale)));
      m += lo.min * (x[b].bsums[4 * j] + x[b].bsums[4 * j + 1]) +
           hi.min * (x[b].bsums[4 * j + 2] + x[b].bsums[4 * j + 3]);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * half(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
    mins += x[b].d * half(w[b].dmin) * static_cast<float>(m);
  }
  return hsum(acc) - mins;
}

float dot_q6_k(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ6_K*>(wv);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    __m256i sum = _mm256_setzero_si256();
    int32_t bias = 0;  // sum of scale * 32 * y, removed once per super-block
    for (int part = 0; part < 2; ++part) {
      const uint8_t* ql = w[b].ql + 64 * part;
      const int8_t* sc = w[b].scales + 8 * part;
      const int8_t* y = x[b].qs + 128 * part;
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh + 32 * part));
      // Unsigned 6-bit quants 0..63 for the four 32-element rows of this half.
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
      };
      for (int r = 0; r < 4; ++r) {
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 32 * r));
        const __m256i p = _mm256_maddubs_epi16(q[r], yv);  // 16 pair sums
        // Lanes 0-7 hold elements 0-15 (scale 2r), lanes 8-15 elements 16-31 (scale 2r+1).
        const __m256i s =
            _mm256_set_m128i(_mm_set1_epi16(sc[2 * r + 1]), _mm_set1_epi16(sc[2 * r]));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, s));
        const int g = 8 * part + 2 * r;  // bsums index of this row's first 16
        bias += sc[2 * r] * x[b].bsums[g] + sc[2 * r + 1] * x[b].bsums[g + 1];
      }
    }
    acc = _mm256_fmadd_ps(
        _mm256_set1_ps(x[b].d * half(w[b].d)),
        _mm256_sub_ps(_mm256_cvtepi32_ps(sum), _mm256_set_ps(0, 0, 0, 0, 0, 0, 0, 32.0f * bias)),
        acc);
  }
  return hsum(acc);
}

void quantize_q8_0(const float* x, void* out, int64_t n) {
  auto* blocks = static_cast<BlockQ8_0*>(out);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(xb + 8 * i);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[i]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float d = _mm_cvtss_f32(m) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = _cvtss_sh(d, 0);
    const __m256 scale = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) {
      q[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], scale),
                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // int32 -> int16 -> int8; the packs interleave 128-bit lanes, the permute restores order.
    const __m256i q01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i q23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i q8 = _mm256_packs_epi16(q01, q23);
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].qs), ordered);
  }
}

void axpy_f32(float* acc, float p, const float* v, int64_t n) {
  const __m256 pv = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(acc + i,
                     _mm256_fmadd_ps(pv, _mm256_loadu_ps(v + i), _mm256_loadu_ps(acc + i)));
  }
  for (; i < n; ++i) acc[i] += p * v[i];
}

void axpy_f16(float* acc, float p, const uint16_t* v, int64_t n) {
  const __m256 pv = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vf = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
    _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(pv, vf, _mm256_loadu_ps(acc + i)));
  }
  for (; i < n; ++i) acc[i] += p * half(v[i]);
}

}  // namespace

const DotKernels* avx2_dot_kernels_unchecked() {
  static const DotKernels k{.name = "avx2",
                            .f32 = dot_f32,
                            .f16 = dot_f16,
                            .bf16 = dot_bf16,
                            .q4_0 = dot_q4_0,
                            .q4_1 = dot_q4_1,
                            .q5_0 = portable_dot_kernels().q5_0,
                            .q5_1 = portable_dot_kernels().q5_1,
                            .q8_0 = dot_q8_0,
                            .q4_0_x4 = dot_q4_0_x4,
                            .q8_0_x4 = dot_q8_0_x4,
                            .q4_k = dot_q4_k,
                            .q6_k = dot_q6_k,
                            .quantize_q8_0 = quantize_q8_0,
                            .axpy_f32 = axpy_f32,
                            .axpy_f16 = axpy_f16};
  return &k;
}

}  // namespace ma::cpu

#else

namespace ma::cpu {
const DotKernels* avx2_dot_kernels() {
  return nullptr;
}
}  // namespace ma::cpu

#endif
