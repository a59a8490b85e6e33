// Operands for cuBLAS in prefill: quantized weights dequantized to fp16 and
// activations converted to the weight's 16-bit type.
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"

namespace ma::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void dequantize_f16_kernel(DeviceWeight w, __half* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= w.in * w.out) return;
  out[i] = __float2half_rn(weight_at(w, i / w.in, i % w.in));
}

// Q4_0 / Q8_0: one thread per 32-element block, 16-byte loads and stores.
template <bool kQ4>
__global__ void dequantize_blocks_kernel(const uint8_t* q, const uint16_t* d, int64_t n_blocks,
                                         uint4* out) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= n_blocks) return;
  const __half2 scale = __half2half2(__ushort_as_half(d[b]));
  int8_t v[32];
  if (kQ4) {
    const uint4 w = reinterpret_cast<const uint4*>(q)[b];
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&w);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = static_cast<int8_t>((bytes[j] & 0xF) - 8);
      v[j + 16] = static_cast<int8_t>((bytes[j] >> 4) - 8);
    }
  } else {
    const uint4* src = reinterpret_cast<const uint4*>(q) + 2 * b;
    const uint4 w0 = src[0], w1 = src[1];
    const int8_t* b0 = reinterpret_cast<const int8_t*>(&w0);
    const int8_t* b1 = reinterpret_cast<const int8_t*>(&w1);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = b0[j];
      v[j + 16] = b1[j];
    }
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    __half2 h[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      h[k] = __hmul2(scale, __halves2half2(__int2half_rn(v[8 * c + 2 * k]),
                                           __int2half_rn(v[8 * c + 2 * k + 1])));
    }
    out[4 * b + c] = *reinterpret_cast<const uint4*>(h);
  }
}

__global__ void to_f16_kernel(const float* x, int64_t n, __half* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2half_rn(x[i]);
}

__global__ void to_bf16_kernel(const float* x, int64_t n, __nv_bfloat16* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16_rn(x[i]);
}

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>((n + kThreads - 1) / kThreads);
}

}  // namespace

void dequantize_f16(const DeviceWeight& w, uint16_t* out, cudaStream_t s) {
  const int64_t n_blocks = w.in * w.out / 32;
  if (w.type == GgmlType::Q4_0) {
    dequantize_blocks_kernel<true><<<blocks_for(n_blocks), kThreads, 0, s>>>(
        static_cast<const uint8_t*>(w.q), w.d, n_blocks, reinterpret_cast<uint4*>(out));
  } else if (w.type == GgmlType::Q8_0) {
    dequantize_blocks_kernel<false><<<blocks_for(n_blocks), kThreads, 0, s>>>(
        static_cast<const uint8_t*>(w.q), w.d, n_blocks, reinterpret_cast<uint4*>(out));
  } else {
    dequantize_f16_kernel<<<blocks_for(w.in * w.out), kThreads, 0, s>>>(
        w, reinterpret_cast<__half*>(out));
  }
  MA_CUDA_CHECK_LAUNCH();
}

void to_f16(const float* x, int64_t n, uint16_t* out, cudaStream_t s) {
  to_f16_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n, reinterpret_cast<__half*>(out));
  MA_CUDA_CHECK_LAUNCH();
}

void to_bf16(const float* x, int64_t n, uint16_t* out, cudaStream_t s) {
  to_bf16_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n, reinterpret_cast<__nv_bfloat16*>(out));
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace ma::cuda
