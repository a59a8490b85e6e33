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
  dequantize_f16_kernel<<<blocks_for(w.in * w.out), kThreads, 0, s>>>(
      w, reinterpret_cast<__half*>(out));
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
