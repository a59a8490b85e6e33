// Dequantization checked against hand-built blocks. Each expected value is
// computed by a helper written from the format description (nested loops in
// the order the format stores data), independently of src/quant; scales and
// quants are chosen so that every product is exact in float and double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace ma {
namespace {

// Deterministic, non-trivial byte pattern.
uint8_t pattern_byte(int i, int salt) {
  return static_cast<uint8_t>((i * 37 + salt * 101 + 11) ^ (i >> 3));
}

template <class Block>
std::vector<float> decode(GgmlType type, const Block& b) {
  std::vector<float> out(Block::kElems);
  dequantize_row(type, &b, out.data(), Block::kElems);
  return out;
}

void expect_all_equal(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(static_cast<double>(got[i]), want[i]) << "element " << i;
  }
}

TEST(QuantBlocks, SizesMatchTypeTable) {
  EXPECT_EQ(sizeof(BlockQ4_0), ggml_type_traits(GgmlType::Q4_0).type_size);
  EXPECT_EQ(sizeof(BlockQ4_1), ggml_type_traits(GgmlType::Q4_1).type_size);
  EXPECT_EQ(sizeof(BlockQ5_0), ggml_type_traits(GgmlType::Q5_0).type_size);
  EXPECT_EQ(sizeof(BlockQ5_1), ggml_type_traits(GgmlType::Q5_1).type_size);
  EXPECT_EQ(sizeof(BlockQ8_0), ggml_type_traits(GgmlType::Q8_0).type_size);
  EXPECT_EQ(sizeof(BlockQ2_K), ggml_type_traits(GgmlType::Q2_K).type_size);
  EXPECT_EQ(sizeof(BlockQ3_K), ggml_type_traits(GgmlType::Q3_K).type_size);
  EXPECT_EQ(sizeof(BlockQ4_K), ggml_type_traits(GgmlType::Q4_K).type_size);
  EXPECT_EQ(sizeof(BlockQ5_K), ggml_type_traits(GgmlType::Q5_K).type_size);
  EXPECT_EQ(sizeof(BlockQ6_K), ggml_type_traits(GgmlType::Q6_K).type_size);
  EXPECT_EQ(sizeof(BlockQ8_K), ggml_type_traits(GgmlType::Q8_K).type_size);
}

// ---- legacy formats -------------------------------------------------------

TEST(QuantDequant, Q4_0) {
  BlockQ4_0 b{};
  b.d = fp32_to_fp16(0.5f);
  for (int i = 0; i < 16; ++i) b.qs[i] = pattern_byte(i, 1);
  std::vector<double> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.5 * ((b.qs[j] & 15) - 8);
    want[j + 16] = 0.5 * ((b.qs[j] >> 4) - 8);
  }
  const auto got = decode(GgmlType::Q4_0, b);
  expect_all_equal(got, want);
  b.qs[3] = 0xF0;  // element 3 -> q 0, element 19 -> q 15
  const auto lit = decode(GgmlType::Q4_0, b);
  EXPECT_EQ(lit[3], -4.0f);
  EXPECT_EQ(lit[19], 3.5f);
}

TEST(QuantDequant, Q4_1) {
  BlockQ4_1 b{};
  b.d = fp32_to_fp16(0.25f);
  b.m = fp32_to_fp16(-1.5f);
  for (int i = 0; i < 16; ++i) b.qs[i] = pattern_byte(i, 2);
  std::vector<double> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.25 * (b.qs[j] & 15) - 1.5;
    want[j + 16] = 0.25 * (b.qs[j] >> 4) - 1.5;
  }
  expect_all_equal(decode(GgmlType::Q4_1, b), want);
  b.qs[0] = 0x3F;
  const auto lit = decode(GgmlType::Q4_1, b);
  EXPECT_EQ(lit[0], 2.25f);    // 15 * 0.25 - 1.5
  EXPECT_EQ(lit[16], -0.75f);  // 3 * 0.25 - 1.5
}

// Fifth bit of element j: bit j of the four qh bytes read as a little-endian word.
int q5_high_bit(const uint8_t qh[4], int j) {
  return (qh[j / 8] >> (j % 8)) & 1;
}

TEST(QuantDequant, Q5_0) {
  BlockQ5_0 b{};
  b.d = fp32_to_fp16(0.125f);
  for (int i = 0; i < 16; ++i) b.qs[i] = pattern_byte(i, 3);
  const uint8_t qh[4] = {0xA5, 0x0F, 0x81, 0x7E};
  std::memcpy(b.qh, qh, 4);
  std::vector<double> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.125 * (((b.qs[j] & 15) | q5_high_bit(qh, j) << 4) - 16);
    want[j + 16] = 0.125 * (((b.qs[j] >> 4) | q5_high_bit(qh, j + 16) << 4) - 16);
  }
  expect_all_equal(decode(GgmlType::Q5_0, b), want);
  b.qs[0] = 0x0F;  // element 0: low 15, high bit 1 (0xA5 bit 0) -> 31; element 16: 0 | bit 16
                   // (0x81) -> 16
  const auto lit = decode(GgmlType::Q5_0, b);
  EXPECT_EQ(lit[0], 1.875f);
  EXPECT_EQ(lit[16], 0.0f);
}

TEST(QuantDequant, Q5_1) {
  BlockQ5_1 b{};
  b.d = fp32_to_fp16(0.5f);
  b.m = fp32_to_fp16(-3.0f);
  for (int i = 0; i < 16; ++i) b.qs[i] = pattern_byte(i, 4);
  const uint8_t qh[4] = {0x3C, 0xF0, 0x55, 0x01};
  std::memcpy(b.qh, qh, 4);
  std::vector<double> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.5 * ((b.qs[j] & 15) | q5_high_bit(qh, j) << 4) - 3.0;
    want[j + 16] = 0.5 * ((b.qs[j] >> 4) | q5_high_bit(qh, j + 16) << 4) - 3.0;
  }
  expect_all_equal(decode(GgmlType::Q5_1, b), want);
  b.qs[2] = 0x21;  // element 2: 1 | 16 (0x3C bit 2) = 17; element 18: 2 | 16 (0x55 bit 2) = 18
  const auto lit = decode(GgmlType::Q5_1, b);
  EXPECT_EQ(lit[2], 5.5f);
  EXPECT_EQ(lit[18], 6.0f);
}

TEST(QuantDequant, Q8_0) {
  BlockQ8_0 b{};
  b.d = fp32_to_fp16(0.0625f);
  for (int i = 0; i < 32; ++i) b.qs[i] = static_cast<int8_t>(pattern_byte(i, 5));
  std::vector<double> want(32);
  for (int j = 0; j < 32; ++j) want[j] = 0.0625 * b.qs[j];
  expect_all_equal(decode(GgmlType::Q8_0, b), want);
  b.qs[7] = -128;
  b.qs[8] = 127;
  const auto lit = decode(GgmlType::Q8_0, b);
  EXPECT_EQ(lit[7], -8.0f);
  EXPECT_EQ(lit[8], 7.9375f);
}

// ---- k-quants -------------------------------------------------------------

TEST(QuantDequant, Q2_K) {
  BlockQ2_K b{};
  b.d = fp32_to_fp16(0.5f);
  b.dmin = fp32_to_fp16(0.25f);
  for (int i = 0; i < 16; ++i) b.scales[i] = pattern_byte(i, 6);
  for (int i = 0; i < 64; ++i) b.qs[i] = pattern_byte(i, 7);
  // Each 128 elements use 32 bytes of qs; four passes over them take bits
  // 0-1, 2-3, 4-5, 6-7; each pass is two sub-blocks of 16 (bytes 0-15, 16-31).
  std::vector<double> want;
  int sub = 0;
  for (int half = 0; half < 2; ++half) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int part = 0; part < 2; ++part, ++sub) {
        const int sc = b.scales[sub] & 15, mn = b.scales[sub] >> 4;
        for (int l = 0; l < 16; ++l) {
          const int q = (b.qs[half * 32 + part * 16 + l] >> shift) & 3;
          want.push_back(0.5 * sc * q - 0.25 * mn);
        }
      }
    }
  }
  expect_all_equal(decode(GgmlType::Q2_K, b), want);
  // Element 33 is sub-block 2, bits 2-3 of qs[1].
  b.scales[2] = 0x37;  // scale 7, min 3
  b.qs[1] = 0x0C;      // q = 3
  EXPECT_EQ(decode(GgmlType::Q2_K, b)[33], 0.5f * 7 * 3 - 0.25f * 3);
}

// Packs sixteen 6-bit values as Q3_K stores them: bytes 0-7 hold the low
// nibbles of values 0-7 (low half) and 8-15 (high half); byte 8+i holds the
// top two bits of values i, i+4, i+8, i+12 in bit pairs 0, 2, 4, 6.
void pack_q3_scales_for_test(const int v[16], uint8_t out[12]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>((v[i] & 15) | (v[i + 8] & 15) << 4);
  for (int i = 0; i < 4; ++i) {
    out[8 + i] = static_cast<uint8_t>((v[i] >> 4) | (v[i + 4] >> 4) << 2 | (v[i + 8] >> 4) << 4 |
                                      (v[i + 12] >> 4) << 6);
  }
}

TEST(QuantDequant, Q3_K) {
  BlockQ3_K b{};
  b.d = fp32_to_fp16(0.25f);
  int stored[16];  // scale + 32; span the 6-bit range including both ends
  for (int j = 0; j < 16; ++j) stored[j] = (j * 29 + 5) % 64;
  stored[3] = 0;
  stored[12] = 63;
  pack_q3_scales_for_test(stored, b.scales);
  for (int i = 0; i < 32; ++i) b.hmask[i] = pattern_byte(i, 8);
  for (int i = 0; i < 64; ++i) b.qs[i] = pattern_byte(i, 9);
  // Same walk as Q2_K; the hmask bit advances with every pass (8 passes in
  // all), and a clear bit subtracts 4.
  std::vector<double> want;
  int sub = 0, pass = 0;
  for (int half = 0; half < 2; ++half) {
    for (int shift = 0; shift < 8; shift += 2, ++pass) {
      for (int part = 0; part < 2; ++part, ++sub) {
        for (int l = 0; l < 16; ++l) {
          const int idx = part * 16 + l;
          const int low = (b.qs[half * 32 + idx] >> shift) & 3;
          const int q = low - (((b.hmask[idx] >> pass) & 1) ? 0 : 4);
          want.push_back(0.25 * (stored[sub] - 32) * q);
        }
      }
    }
  }
  expect_all_equal(decode(GgmlType::Q3_K, b), want);
  // Element 200: half 1, pass 6 (bits 4-5 of qs[32 + 8]), sub-block 12 (scale 63 - 32 = 31).
  b.qs[40] = 0x10;                                        // low bits 1
  b.hmask[8] = static_cast<uint8_t>(b.hmask[8] & ~0x40);  // bit 6 clear: -4
  EXPECT_EQ(decode(GgmlType::Q3_K, b)[200], 0.25f * 31 * (1 - 4));
}

// Literal 12-byte scale block for Q4_K/Q5_K: sub-block 0 has scale 1 / min 5,
// sub-block 4 scale 58 / min 25, sub-block 5 scale 12 / min 11 (worked out by hand
// from the packing: the low 6 bits of bytes 0-7 for sub-blocks 0-3, byte 8+i's
// nibbles plus the top bits of bytes i and i+4 for sub-block 4+i).
constexpr uint8_t kLiteralK4Scales[12] = {0xC1, 0x02, 0x03, 0x04, 0x45, 0x06,
                                          0x07, 0x08, 0x9A, 0xBC, 0xDE, 0xF0};

struct K4Scales {
  int sc[8], m[8];
};

K4Scales unpack_k4_for_test(const uint8_t s[12]) {
  K4Scales out{};
  for (int i = 0; i < 4; ++i) {
    out.sc[i] = s[i] & 63;
    out.m[i] = s[i + 4] & 63;
    out.sc[i + 4] = (s[i + 8] & 15) | (s[i] >> 6) << 4;
    out.m[i + 4] = (s[i + 8] >> 4) | (s[i + 4] >> 6) << 4;
  }
  return out;
}

TEST(QuantDequant, Q4_K) {
  BlockQ4_K b{};
  b.d = fp32_to_fp16(0.5f);
  b.dmin = fp32_to_fp16(0.125f);
  for (int i = 0; i < 12; ++i) b.scales[i] = pattern_byte(i, 10);
  for (int i = 0; i < 128; ++i) b.qs[i] = pattern_byte(i, 11);
  const K4Scales s = unpack_k4_for_test(b.scales);
  // Each 64 elements use 32 bytes: low nibbles first (sub-block 2c), then high (2c+1).
  std::vector<double> want;
  for (int chunk = 0; chunk < 4; ++chunk) {
    for (int nib = 0; nib < 2; ++nib) {
      const int sub = 2 * chunk + nib;
      for (int l = 0; l < 32; ++l) {
        const int q = (b.qs[chunk * 32 + l] >> (4 * nib)) & 15;
        want.push_back(0.5 * s.sc[sub] * q - 0.125 * s.m[sub]);
      }
    }
  }
  expect_all_equal(decode(GgmlType::Q4_K, b), want);

  std::memcpy(b.scales, kLiteralK4Scales, 12);
  b.d = b.dmin = fp32_to_fp16(1.0f);
  b.qs[0] = 0x00;
  b.qs[64] = 0x07;  // element 128 (sub-block 4) = 7, element 160 (sub-block 5) = 0
  const auto lit = decode(GgmlType::Q4_K, b);
  EXPECT_EQ(lit[0], -5.0f);
  EXPECT_EQ(lit[128], 58.0f * 7 - 25);
  EXPECT_EQ(lit[160], -11.0f);
}

TEST(QuantDequant, Q5_K) {
  BlockQ5_K b{};
  b.d = fp32_to_fp16(0.25f);
  b.dmin = fp32_to_fp16(0.5f);
  for (int i = 0; i < 12; ++i) b.scales[i] = pattern_byte(i, 12);
  for (int i = 0; i < 128; ++i) b.qs[i] = pattern_byte(i, 13);
  for (int i = 0; i < 32; ++i) b.qh[i] = pattern_byte(i, 14);
  const K4Scales s = unpack_k4_for_test(b.scales);
  // As Q4_K; sub-block k takes its fifth bit from bit k of qh[l].
  std::vector<double> want;
  for (int chunk = 0; chunk < 4; ++chunk) {
    for (int nib = 0; nib < 2; ++nib) {
      const int sub = 2 * chunk + nib;
      for (int l = 0; l < 32; ++l) {
        const int q = ((b.qs[chunk * 32 + l] >> (4 * nib)) & 15) | ((b.qh[l] >> sub) & 1) << 4;
        want.push_back(0.25 * s.sc[sub] * q - 0.5 * s.m[sub]);
      }
    }
  }
  expect_all_equal(decode(GgmlType::Q5_K, b), want);

  std::memcpy(b.scales, kLiteralK4Scales, 12);
  b.d = b.dmin = fp32_to_fp16(1.0f);
  b.qs[64] = 0x07;
  b.qh[0] = 0x30;  // fifth bit for sub-blocks 4 and 5 at l = 0
  const auto lit = decode(GgmlType::Q5_K, b);
  EXPECT_EQ(lit[128], 58.0f * 23 - 25);
  EXPECT_EQ(lit[160], 12.0f * 16 - 11);
}

TEST(QuantDequant, Q6_K) {
  BlockQ6_K b{};
  b.d = fp32_to_fp16(0.125f);
  for (int i = 0; i < 128; ++i) b.ql[i] = pattern_byte(i, 15);
  for (int i = 0; i < 64; ++i) b.qh[i] = pattern_byte(i, 16);
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(pattern_byte(i, 17));
  b.scales[0] = -128;
  b.scales[15] = 127;
  // Per 128 elements: ql bytes 0-31 feed elements 0-31 (low nibble) and
  // 64-95 (high), bytes 32-63 feed 32-63 and 96-127; qh byte l gives the top
  // two bits of elements l, l+32, l+64, l+96 in bit pairs 0, 2, 4, 6.
  std::vector<double> want(256);
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    for (int l = 0; l < 32; ++l) {
      const int q[4] = {(ql[l] & 15) | (qh[l] & 3) << 4, (ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4,
                        (ql[l] >> 4) | (qh[l] >> 4 & 3) << 4,
                        (ql[l + 32] >> 4) | (qh[l] >> 6) << 4};
      for (int g = 0; g < 4; ++g) {
        const int e = 128 * half + 32 * g + l;
        want[e] = 0.125 * b.scales[e / 16] * (q[g] - 32);
      }
    }
  }
  expect_all_equal(decode(GgmlType::Q6_K, b), want);
  // Element 0 is sub-block 0 (scale -128); set q = 63.
  b.ql[0] = static_cast<uint8_t>((b.ql[0] & 0xF0) | 0x0F);
  b.qh[0] = static_cast<uint8_t>(b.qh[0] | 0x03);
  EXPECT_EQ(decode(GgmlType::Q6_K, b)[0], 0.125f * -128 * 31);
}

TEST(QuantDequant, Q8_K) {
  BlockQ8_K b{};
  b.d = 0.03125f;
  for (int i = 0; i < 256; ++i) b.qs[i] = static_cast<int8_t>(pattern_byte(i, 18));
  std::vector<double> want(256);
  for (int i = 0; i < 256; ++i) want[i] = 0.03125 * b.qs[i];
  expect_all_equal(decode(GgmlType::Q8_K, b), want);
}

// ---- plain element types --------------------------------------------------

TEST(QuantDequant, PlainTypes) {
  const double f64[3] = {1.5, -2.25, 1e-3};
  const int8_t i8[3] = {-128, 0, 127};
  const int16_t i16[3] = {-32768, 7, 32767};
  const int32_t i32[3] = {-100000, 3, 16777216};
  const uint16_t f16[3] = {0x3C00, 0xC000, 0x0001};
  const uint16_t bf16[3] = {0x3F80, 0xC040, 0x7F80};
  float out[3];
  dequantize_row(GgmlType::F64, f64, out, 3);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -2.25f);
  EXPECT_EQ(out[2], 1e-3f);
  dequantize_row(GgmlType::I8, i8, out, 3);
  EXPECT_EQ(out[0], -128.0f);
  EXPECT_EQ(out[2], 127.0f);
  dequantize_row(GgmlType::I16, i16, out, 3);
  EXPECT_EQ(out[0], -32768.0f);
  EXPECT_EQ(out[1], 7.0f);
  dequantize_row(GgmlType::I32, i32, out, 3);
  EXPECT_EQ(out[0], -100000.0f);
  EXPECT_EQ(out[2], 16777216.0f);
  dequantize_row(GgmlType::F16, f16, out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 5.9604644775390625e-8f);  // smallest subnormal half, 2^-24
  dequantize_row(GgmlType::BF16, bf16, out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
  EXPECT_TRUE(std::isinf(out[2]));
}

TEST(QuantDequant, MultipleBlocksInOneRow) {
  BlockQ8_0 blocks[2]{};
  blocks[0].d = fp32_to_fp16(1.0f);
  blocks[1].d = fp32_to_fp16(2.0f);
  for (int i = 0; i < 32; ++i) blocks[0].qs[i] = blocks[1].qs[i] = static_cast<int8_t>(i - 16);
  float out[64];
  dequantize_row(GgmlType::Q8_0, blocks, out, 64);
  EXPECT_EQ(out[0], -16.0f);
  EXPECT_EQ(out[32], -32.0f);
  EXPECT_EQ(out[63], 30.0f);
}

// ---- refusals -------------------------------------------------------------

TEST(QuantDequant, UnsupportedTypeNamesIt) {
  std::vector<uint8_t> block(ggml_type_traits(GgmlType::IQ2_XXS).type_size, 0x11);
  float out[256];
  try {
    dequantize_row(GgmlType::IQ2_XXS, block.data(), out, 256);
    FAIL() << "expected ma::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("IQ2_XXS"), std::string::npos) << e.what();
  }
  EXPECT_THROW(dequantize_row(GgmlType::Q8_1, block.data(), out, 32), Error);
}

TEST(QuantDequant, PartialBlockIsRefused) {
  BlockQ4_0 b{};
  b.d = fp32_to_fp16(1.0f);
  float out[32];
  EXPECT_THROW(dequantize_row(GgmlType::Q4_0, &b, out, 31), Error);
}

}  // namespace
}  // namespace ma
