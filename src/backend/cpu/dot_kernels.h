// Row-times-vector dot products of the CPU matmul, one per weight format.
// Quantized weights are multiplied with activations quantized to Q8_0 blocks
// (integer dot, as the formats intend); float weights with float activations.
// A portable set and an AVX2+FMA+F16C set share this table; the best one for
// the running CPU is chosen once at start-up.
#pragma once

#include <cstdint>

namespace ma::cpu {

// n: elements in the row (a multiple of 32 for the Q8_0 kernels).
using DotF32 = float (*)(const float* w, const float* x, int64_t n);
using DotF16 = float (*)(const uint16_t* w, const float* x, int64_t n);
using DotQ8 = float (*)(const void* w_blocks, const void* x_q8_0, int64_t n);
// K-quant weights against activations quantized to Q8_K super-blocks.
using DotQ8K = float (*)(const void* w_blocks, const void* x_q8_k, int64_t n);
// One weight row against four activation rows: out[j] = dot(w, x[j]). Sharing
// the unpacked weights between tokens is what makes batched prefill fast.
using DotQ8x4 = void (*)(const void* w_blocks, const void* const* x_q8_0, int64_t n, float* out);

struct DotKernels {
  const char* name;
  DotF32 f32;
  DotF16 f16;
  DotF16 bf16;
  DotQ8 q4_0;
  DotQ8 q4_1;
  DotQ8 q5_0;
  DotQ8 q5_1;
  DotQ8 q8_0;
  DotQ8x4 q4_0_x4;  // may be null: then four single dots
  DotQ8x4 q8_0_x4;
  DotQ8K q4_k;
  DotQ8K q6_k;
  // Activations to Q8_0 blocks (n a multiple of 32); rounding may differ from
  // the reference quantizer on exact ties.
  void (*quantize_q8_0)(const float* x, void* blocks, int64_t n);
  // acc[i] += p * v[i]: attention's weighted sum of cached values.
  void (*axpy_f32)(float* acc, float p, const float* v, int64_t n);
  void (*axpy_f16)(float* acc, float p, const uint16_t* v, int64_t n);
};

const DotKernels& portable_dot_kernels();
// nullptr when the build or the CPU lacks AVX2/FMA/F16C.
const DotKernels* avx2_dot_kernels();
// The kernels used by the engine: AVX2 where available (MA_CPU_PORTABLE=1 forces portable).
const DotKernels& dot_kernels();

}  // namespace ma::cpu
