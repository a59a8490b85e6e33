// Q4_0 weights repacked 8 rows at a time so one pass of AVX2 code computes 8
// dot products: the 8 rows' scales convert in one instruction, and each
// activation quartet is broadcast once for all 8 rows (llama.cpp gets its CPU
// Q4_0 speed from a similar repacking). The quantized values are unchanged,
// so results equal the row layout's up to float summation order.
//
// Block k of row group G (rows 8G..8G+7, elements 32k..32k+31):
//   d[r]            the fp16 scale of row r's block k
//   qs[32 g + 4 r + j], g = 0..3, j = 0..3:
//                   low nibble  = quant of element 8g + j     of row r
//                   high nibble = quant of element 8g + 4 + j of row r
#pragma once

#include <cstdint>
#include <memory>

#include "backend/weight.h"

namespace ma::cpu {

struct BlockQ4_0x8 {
  uint16_t d[8];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_0x8) == 144);

// Whether `w` can be repacked (Q4_0 in row layout, rows a multiple of 8).
bool can_repack_q4_0x8(const Weight& w);
// Writes the repacked copy of `w` into `dst` (ggml_row_size * out bytes).
void repack_q4_0x8(const Weight& w, uint8_t* dst);

// y[t][r] for the 8 rows of group `g`, for `n_tokens` Q8_0 activation rows
// (x_rows[t]); x_sums[t][k] is the sum of the quants of activation block k.
using GemvQ4_0x8 = void (*)(const BlockQ4_0x8* group, int64_t n_blocks, const void* const* x_rows,
                            const int32_t* const* x_sums, int n_tokens, float* const* y);

GemvQ4_0x8 portable_gemv_q4_0x8();
GemvQ4_0x8 avx2_gemv_q4_0x8();  // nullptr without AVX2
GemvQ4_0x8 vnni_gemv_q4_0x8();  // nullptr without AVX512-VNNI/VL

}  // namespace ma::cpu
