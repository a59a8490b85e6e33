// Portable scalar dot products (any CPU). The compiler auto-vectorises the
// float loops; quantized ones follow the block definitions directly.
#include <cstdlib>
#include <cstring>

#include "backend/cpu/dot_kernels.h"
#include "core/fp16.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace ma::cpu {
namespace {

float dot_f32(const float* w, const float* x, int64_t n) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += w[i + k] * x[i + k];
  }
  float s = 0;
  for (int k = 0; k < 8; ++k) s += acc[k];
  for (; i < n; ++i) s += w[i] * x[i];
  return s;
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += fp16_to_fp32(w[i]) * x[i];
  return s;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += bf16_to_fp32(w[i]) * x[i];
  return s;
}

float dot_q4_0(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ4_0*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sum += ((w[b].qs[j] & 0x0f) - 8) * x[b].qs[j];
      sum += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + kQK / 2];
    }
    s += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * static_cast<float>(sum);
  }
  return s;
}

float dot_q4_1(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ4_1*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0, xsum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sum += (w[b].qs[j] & 0x0f) * x[b].qs[j] + (w[b].qs[j] >> 4) * x[b].qs[j + kQK / 2];
      xsum += x[b].qs[j] + x[b].qs[j + kQK / 2];
    }
    const float dx = fp16_to_fp32(x[b].d);
    s += fp16_to_fp32(w[b].d) * dx * static_cast<float>(sum) +
         fp16_to_fp32(w[b].m) * dx * static_cast<float>(xsum);
  }
  return s;
}

// Bit 4 of element j of a Q5 block.
inline int q5_high_bit(const uint8_t qh[4], int j) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  return static_cast<int>((bits >> j) & 1u) << 4;
}

float dot_q5_0(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ5_0*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = ((w[b].qs[j] & 0x0f) | q5_high_bit(w[b].qh, j)) - 16;
      const int hi = ((w[b].qs[j] >> 4) | q5_high_bit(w[b].qh, j + kQK / 2)) - 16;
      sum += lo * x[b].qs[j] + hi * x[b].qs[j + kQK / 2];
    }
    s += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * static_cast<float>(sum);
  }
  return s;
}

float dot_q5_1(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ5_1*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0, xsum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (w[b].qs[j] & 0x0f) | q5_high_bit(w[b].qh, j);
      const int hi = (w[b].qs[j] >> 4) | q5_high_bit(w[b].qh, j + kQK / 2);
      sum += lo * x[b].qs[j] + hi * x[b].qs[j + kQK / 2];
      xsum += x[b].qs[j] + x[b].qs[j + kQK / 2];
    }
    const float dx = fp16_to_fp32(x[b].d);
    s += fp16_to_fp32(w[b].d) * dx * static_cast<float>(sum) +
         fp16_to_fp32(w[b].m) * dx * static_cast<float>(xsum);
  }
  return s;
}

float dot_q8_0(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ8_0*>(wv);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += w[b].qs[j] * x[b].qs[j];
    s += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * static_cast<float>(sum);
  }
  return s;
}

float dot_q4_k(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ4_K*>(wv);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t sum = 0, mins = 0;
    for (int j = 0; j < kQK_K / 64; ++j) {
      const ScaleMin lo = unpack_scale_min_k4(w[b].scales, 2 * j);
      const ScaleMin hi = unpack_scale_min_k4(w[b].scales, 2 * j + 1);
      int32_t a = 0, c = 0;
      for (int l = 0; l < 32; ++l) {
        a += (w[b].qs[32 * j + l] & 0x0f) * x[b].qs[64 * j + l];
        c += (w[b].qs[32 * j + l] >> 4) * x[b].qs[64 * j + 32 + l];
      }
      sum += a * lo.scale + c * hi.scale;
      mins += lo.min * (x[b].bsums[4 * j] + x[b].bsums[4 * j + 1]) +
              hi.min * (x[b].bsums[4 * j + 2] + x[b].bsums[4 * j + 3]);
    }
    s += x[b].d * (fp16_to_fp32(w[b].d) * static_cast<float>(sum) -
                   fp16_to_fp32(w[b].dmin) * static_cast<float>(mins));
  }
  return s;
}

float dot_q6_k(const void* wv, const void* xv, int64_t n) {
  const auto* w = static_cast<const BlockQ6_K*>(wv);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float s = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t sum = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w[b].ql + 64 * half;
      const uint8_t* qh = w[b].qh + 32 * half;
      const int8_t* sc = w[b].scales + 8 * half;
      const int8_t* y = x[b].qs + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xf) | ((qh[l] & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        sum += sc[is] * q1 * y[l] + sc[is + 2] * q2 * y[l + 32] + sc[is + 4] * q3 * y[l + 64] +
               sc[is + 6] * q4 * y[l + 96];
      }
    }
    s += x[b].d * fp16_to_fp32(w[b].d) * static_cast<float>(sum);
  }
  return s;
}

void quantize_q8_0(const float* x, void* blocks, int64_t n) {
  quantize_row(GgmlType::Q8_0, x, blocks, n);
}

void axpy_f32(float* acc, float p, const float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += p * v[i];
}

void axpy_f16(float* acc, float p, const uint16_t* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += p * fp16_to_fp32(v[i]);
}

}  // namespace

const DotKernels& portable_dot_kernels() {
  static const DotKernels k{.name = "portable",
                            .f32 = dot_f32,
                            .f16 = dot_f16,
                            .bf16 = dot_bf16,
                            .q4_0 = dot_q4_0,
                            .q4_1 = dot_q4_1,
                            .q5_0 = dot_q5_0,
                            .q5_1 = dot_q5_1,
                            .q8_0 = dot_q8_0,
                            .q4_0_x4 = nullptr,
                            .q8_0_x4 = nullptr,
                            .q4_k = dot_q4_k,
                            .q6_k = dot_q6_k,
                            .quantize_q8_0 = quantize_q8_0,
                            .axpy_f32 = axpy_f32,
                            .axpy_f16 = axpy_f16};
  return k;
}

const DotKernels& dot_kernels() {
  static const DotKernels& chosen = [] {
    const char* force = std::getenv("MA_CPU_PORTABLE");
    const DotKernels* fast = avx2_dot_kernels();
    if (fast != nullptr && !(force != nullptr && force[0] == '1')) return *fast;
    return portable_dot_kernels();
  }();
  return chosen;
}

}  // namespace ma::cpu
