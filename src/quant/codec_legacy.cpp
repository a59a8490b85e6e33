// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: 32-element blocks with one fp16 scale.
// Quantizers reproduce ggml's reference ones (the scale is computed in fp32
// and the quants use that unrounded scale), so files we write match theirs.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "quant/block_codecs.h"

namespace ma {
namespace {

constexpr int kHalf = kQK / 2;

// Signed value of largest magnitude (the first one on ties), as the symmetric
// formats use it so that the extreme maps exactly onto the most negative quant.
float signed_absmax(const float* x) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float& min, float& max) {
  min = FLT_MAX;
  max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
}

// Bit 4 of element j lives in bit j of a little-endian u32.
uint32_t load_qh(const uint8_t qh[4]) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 |
         static_cast<uint32_t>(qh[2]) << 16 | static_cast<uint32_t>(qh[3]) << 24;
}

void store_qh(uint32_t v, uint8_t qh[4]) {
  for (int i = 0; i < 4; ++i) qh[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

// ---- decode ---------------------------------------------------------------

void dequantize_block(const BlockQ4_0& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < kHalf; ++j) {
    y[j] = static_cast<float>((b.qs[j] & 0xF) - 8) * d;
    y[j + kHalf] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
  }
}

void dequantize_block(const BlockQ4_1& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const float m = fp16_to_fp32(b.m);
  for (int j = 0; j < kHalf; ++j) {
    y[j] = static_cast<float>(b.qs[j] & 0xF) * d + m;
    y[j + kHalf] = static_cast<float>(b.qs[j] >> 4) * d + m;
  }
}

void dequantize_block(const BlockQ5_0& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const uint32_t qh = load_qh(b.qh);
  for (int j = 0; j < kHalf; ++j) {
    const int lo = (b.qs[j] & 0xF) | static_cast<int>((qh >> j) & 1) << 4;
    const int hi = (b.qs[j] >> 4) | static_cast<int>((qh >> (j + kHalf)) & 1) << 4;
    y[j] = static_cast<float>(lo - 16) * d;
    y[j + kHalf] = static_cast<float>(hi - 16) * d;
  }
}

void dequantize_block(const BlockQ5_1& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const float m = fp16_to_fp32(b.m);
  const uint32_t qh = load_qh(b.qh);
  for (int j = 0; j < kHalf; ++j) {
    const int lo = (b.qs[j] & 0xF) | static_cast<int>((qh >> j) & 1) << 4;
    const int hi = (b.qs[j] >> 4) | static_cast<int>((qh >> (j + kHalf)) & 1) << 4;
    y[j] = static_cast<float>(lo) * d + m;
    y[j + kHalf] = static_cast<float>(hi) * d + m;
  }
}

void dequantize_block(const BlockQ8_0& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
}

// ---- encode ---------------------------------------------------------------

void quantize_block(const float* x, BlockQ4_0& b) {
  const float d = signed_absmax(x) / -8;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32_to_fp16(d);
  for (int j = 0; j < kHalf; ++j) {
    // Truncation after +8.5 rounds half up; the extreme lands on 0 (or 16 -> 15).
    const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
    const int q1 = std::min(15, static_cast<int>(x[j + kHalf] * id + 8.5f));
    b.qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
  }
}

void quantize_block(const float* x, BlockQ4_1& b) {
  float min, max;
  min_max(x, min, max);
  const float d = (max - min) / 15;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32_to_fp16(d);
  b.m = fp32_to_fp16(min);
  for (int j = 0; j < kHalf; ++j) {
    const int q0 = std::min(15, static_cast<int>((x[j] - min) * id + 0.5f));
    const int q1 = std::min(15, static_cast<int>((x[j + kHalf] - min) * id + 0.5f));
    b.qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
  }
}

void quantize_block(const float* x, BlockQ5_0& b) {
  const float d = signed_absmax(x) / -16;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32_to_fp16(d);
  uint32_t qh = 0;
  for (int j = 0; j < kHalf; ++j) {
    const int q0 = std::min(31, static_cast<int>(x[j] * id + 16.5f));
    const int q1 = std::min(31, static_cast<int>(x[j + kHalf] * id + 16.5f));
    b.qs[j] = static_cast<uint8_t>((q0 & 0xF) | (q1 & 0xF) << 4);
    qh |= static_cast<uint32_t>(q0 >> 4) << j;
    qh |= static_cast<uint32_t>(q1 >> 4) << (j + kHalf);
  }
  store_qh(qh, b.qh);
}

void quantize_block(const float* x, BlockQ5_1& b) {
  float min, max;
  min_max(x, min, max);
  const float d = (max - min) / 31;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32_to_fp16(d);
  b.m = fp32_to_fp16(min);
  uint32_t qh = 0;
  for (int j = 0; j < kHalf; ++j) {
    const int q0 = std::min(31, static_cast<int>((x[j] - min) * id + 0.5f));
    const int q1 = std::min(31, static_cast<int>((x[j + kHalf] - min) * id + 0.5f));
    b.qs[j] = static_cast<uint8_t>((q0 & 0xF) | (q1 & 0xF) << 4);
    qh |= static_cast<uint32_t>(q0 >> 4) << j;
    qh |= static_cast<uint32_t>(q1 >> 4) << (j + kHalf);
  }
  store_qh(qh, b.qh);
}

void quantize_block(const float* x, BlockQ8_0& b) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32_to_fp16(d);
  // Half away from zero, like roundf.
  for (int j = 0; j < kQK; ++j) b.qs[j] = static_cast<int8_t>(std::round(x[j] * id));
}

}  // namespace ma
