// Q8_0 weights repacked 8 rows at a time, the Q8_0 counterpart of q4_0x8.h:
// each 32-bit lane holds 4 consecutive quants of one row, so one VNNI
// vpdpbusd (unsigned x signed bytes) advances 8 rows by 4 elements. The
// quants are stored with +128 (as unsigned bytes) for that instruction; the
// kernels subtract 128 * sum(x) per block. Values are unchanged, so results
// equal the row layout's up to float summation order.
//
// Block k of row group G (rows 8G..8G+7, elements 32k..32k+31):
//   d[r]                       the fp16 scale of row r's block k
//   qs[32 g + 4 r + j] - 128,  g = 0..7, j = 0..3: quant of element 4g + j of row r
#pragma once

#include <cstdint>

#include "backend/weight.h"

namespace ma::cpu {

struct BlockQ8_0x8 {
  uint16_t d[8];
  uint8_t qs[256];
};
static_assert(sizeof(BlockQ8_0x8) == 272);  // 8 Q8_0 blocks: repacking keeps the size

// Whether `w` can be repacked (Q8_0 in row layout, rows a multiple of 8).
bool can_repack_q8_0x8(const Weight& w);
// Writes the repacked copy of `w` into `dst` (ggml_row_size * out bytes).
void repack_q8_0x8(const Weight& w, uint8_t* dst);

// y[t][r] for the 8 rows of group `g`, for `n_tokens` Q8_0 activation rows
// (x_rows[t]); x_sums[t][k] is the sum of the quants of activation block k.
using GemvQ8_0x8 = void (*)(const BlockQ8_0x8* group, int64_t n_blocks, const void* const* x_rows,
                            const int32_t* const* x_sums, int n_tokens, float* const* y);

GemvQ8_0x8 portable_gemv_q8_0x8();
GemvQ8_0x8 avx2_gemv_q8_0x8();  // nullptr without AVX2
GemvQ8_0x8 vnni_gemv_q8_0x8();  // nullptr without AVX512-VNNI/VL

}  // namespace ma::cpu
