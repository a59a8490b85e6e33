// Reference (portable, scalar) dequantize and quantize for every supported
// block format. Bit-exact with the formats' definitions; the fast kernels in
// the backends are tested against these.
#pragma once

#include <cstdint>

#include "quant/ggml_type.h"

namespace ma {

// Decodes n elements (a multiple of the type's block size) from `src` blocks.
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K, Q8_K (and F64, I8..I64 as plain conversions).
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Encodes n floats into blocks of `type` (a multiple of its block size).
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

// Whether quantize_row supports the type.
bool can_quantize(GgmlType type);

}  // namespace ma
