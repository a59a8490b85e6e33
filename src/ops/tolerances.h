// The numerics policy in one place: how far each fast op may stray from its
// fp64 reference. Errors are normalised mean squared errors,
//   nmse = sum (fast - ref)^2 / sum ref^2,
// (as llama.cpp's test-backend-ops does), except where noted.
#pragma once

namespace ma::tolerance {

// fp32 arithmetic on fp32 data.
inline constexpr double kFp32Nmse = 1e-10;
// Weights in F16 / BF16 against dequantized fp64: only accumulation order differs.
inline constexpr double kHalfWeightNmse = 1e-9;
// F16 / BF16 weights with the activations rounded to the same 16-bit type
// (GPU prefill on tensor cores): bf16 keeps 8 bits of mantissa.
inline constexpr double kHalfActivationNmse = 2e-5;
// Quantized weights: activations are quantized to Q8_0 (about 0.4% per value).
inline constexpr double kQuantizedNmse = 5e-4;
// A chain of up to four quantized products (a decode layer's o, gate/up,
// down and the head), each adding its own activation rounding.
inline constexpr double kQuantizedChainNmse = 4 * kQuantizedNmse;
// Attention with an F16 KV cache (keys and values rounded to half).
inline constexpr double kF16CacheNmse = 1e-6;
// Prefill attention on tensor cores over an F16 cache: queries and softmax
// weights rounded to f16 too (~3e-4 relative each; scores of unit-scale
// inputs then move by ~1e-3, so nmse ~1e-6 with room for larger scores).
inline constexpr double kF16AttentionOperandsNmse = 2e-5;
// The bf16 flash attention entry: softmax weights and outputs rounded to
// bf16 (8 bits of mantissa, ~1e-3 relative each, nmse ~3e-6).
inline constexpr double kBf16AttentionNmse = 5e-5;
// RoPE: max abs error on unit-scale inputs.
inline constexpr double kRopeMaxAbs = 1e-4;
// Linear / recurrent scans (conv1d, selective scan, a whole Mamba mixer) in
// fp32 against the fp64 sequential recurrence: max abs error on unit-scale
// inputs, outputs and final states alike. Also bounds prefill vs decode.
inline constexpr double kScanMaxAbs = 1e-3;
// Whole model vs an independent implementation: max abs logit difference.
inline constexpr double kModelLogitsMaxAbs = 1e-3;
// The tiny trained RWKV-7 against rwkv.cpp's reference logits: the sum of
// |difference| over its 256 logits. rwkv.cpp's own test allows 0.01 on the
// signed sum of differences; a sum of magnitudes is the stricter reading.
inline constexpr double kRwkv7ReferenceLogitsAbsSum = 1e-2;

}  // namespace ma::tolerance
