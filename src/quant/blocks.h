// Block layouts of ggml's quantized formats, byte for byte as GGUF stores
// them. Halves are kept as raw uint16_t bits (see core/fp16.h); every struct
// is trivially copyable so a block can be memcpy'd out of an unaligned mapping.
//
// Legacy formats: 32 elements per block, one scale (and maybe a min).
// K-quants: 256-element super-blocks split into 16- or 32-element sub-blocks
// whose scales are themselves quantized against a super-block scale.
#pragma once

#include <cstdint>

namespace ma {

inline constexpr int kQK = 32;     // elements per legacy block
inline constexpr int kQK_K = 256;  // elements per k-quant super-block
inline constexpr int kKScaleSize = 12;

// x = d * (q - 8), q in 0..15; element j in low nibble of qs[j], j+16 in the high one.
struct BlockQ4_0 {
  static constexpr int kElems = kQK;
  uint16_t d;
  uint8_t qs[kQK / 2];
};

// x = d * q + m, q in 0..15.
struct BlockQ4_1 {
  static constexpr int kElems = kQK;
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};

// x = d * (q - 16), q in 0..31; bit 4 of element j is bit j of qh (little-endian u32).
struct BlockQ5_0 {
  static constexpr int kElems = kQK;
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};

// x = d * q + m, q in 0..31.
struct BlockQ5_1 {
  static constexpr int kElems = kQK;
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};

// x = d * q, q in -128..127.
struct BlockQ8_0 {
  static constexpr int kElems = kQK;
  uint16_t d;
  int8_t qs[kQK];
};

// 16 sub-blocks of 16: x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q in 0..3.
struct BlockQ2_K {
  static constexpr int kElems = kQK_K;
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};

// 16 sub-blocks of 16: x = d * (s - 32) * q, q in -4..3 (2 low bits in qs, the
// third bit in hmask, set meaning "no -4"); s are 6-bit values packed in 12 bytes.
struct BlockQ3_K {
  static constexpr int kElems = kQK_K;
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};

// 8 sub-blocks of 32: x = d * sc * q - dmin * m, q in 0..15; 6-bit sc, m packed in 12 bytes.
struct BlockQ4_K {
  static constexpr int kElems = kQK_K;
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};

// As Q4_K with a fifth quant bit in qh: q in 0..31.
struct BlockQ5_K {
  static constexpr int kElems = kQK_K;
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};

// 16 sub-blocks of 16: x = d * scales[s] * (q - 32), q in 0..63 (4 bits in ql, 2 in qh).
struct BlockQ6_K {
  static constexpr int kElems = kQK_K;
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};

// Intermediate format for dot products: x = d * q with a float d; bsums are
// the sums of each 16 quants.
struct BlockQ8_K {
  static constexpr int kElems = kQK_K;
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

// Sizes must equal ggml's type_size; tests/quant also compares them with ggml_type_traits.
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// ---- Q4_K / Q5_K scale packing ------------------------------------------
// Sub-blocks 0..3 keep sc and m in the low 6 bits of bytes j and j+4.
// Sub-blocks 4..7 keep their low nibbles in byte j+4 (sc low, m high) and
// their top two bits in the spare top bits of bytes j-4 (sc) and j (m).
struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};

inline ScaleMin unpack_scale_min_k4(const uint8_t* packed, int j) {
  if (j < 4) {
    return {static_cast<uint8_t>(packed[j] & 63), static_cast<uint8_t>(packed[j + 4] & 63)};
  }
  const int lo_sc = packed[j + 4] & 0xF;
  const int lo_m = packed[j + 4] >> 4;
  const int hi_sc = packed[j - 4] >> 6;
  const int hi_m = packed[j] >> 6;
  return {static_cast<uint8_t>(lo_sc | hi_sc << 4), static_cast<uint8_t>(lo_m | hi_m << 4)};
}

// Inverse of unpack_scale_min_k4 for 8 pairs of 6-bit values.
inline void pack_scale_min_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>((scale[j] & 63) | (scale[j + 4] >> 4) << 6);
    packed[j + 4] = static_cast<uint8_t>((min[j] & 63) | (min[j + 4] >> 4) << 6);
    packed[j + 8] = static_cast<uint8_t>((scale[j + 4] & 0xF) | (min[j + 4] & 0xF) << 4);
  }
}

// ---- Q3_K scale packing -------------------------------------------------
// Sixteen 6-bit values: the low nibble of value j sits in byte j % 8 (low
// nibble for j < 8, high for j >= 8); its top two bits in byte 8 + j % 4 at
// bit 2 * (j / 4).
inline uint8_t unpack_scale_q3_k(const uint8_t* packed, int j) {
  const int lo = (packed[j % 8] >> (4 * (j / 8))) & 0xF;
  const int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return static_cast<uint8_t>(lo | hi << 4);
}

inline void pack_scales_q3_k(const uint8_t values[16], uint8_t packed[12]) {
  for (int i = 0; i < 12; ++i) packed[i] = 0;
  for (int j = 0; j < 16; ++j) {
    packed[j % 8] |= static_cast<uint8_t>((values[j] & 0xF) << (4 * (j / 8)));
    packed[8 + j % 4] |= static_cast<uint8_t>((values[j] >> 4 & 3) << (2 * (j / 4)));
  }
}

}  // namespace ma
