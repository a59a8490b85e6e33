// Small device helpers the kernels share: warp and block reductions, and
// reading one element of a weight row of any supported type.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/device_weight.h"

namespace ma::cuda {

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every
// thread gets the result. `scratch` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int n_warps = blockDim.x >> 5;
  float t = lane < n_warps ? scratch[lane] : 0.0f;
  return warp_sum(t);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int n_warps = blockDim.x >> 5;
  float t = lane < n_warps ? scratch[lane] : -INFINITY;
  return warp_max(t);
}

__device__ __forceinline__ float half_bits_to_float(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}

__device__ __forceinline__ float bf16_bits_to_float(uint16_t b) {
  return __uint_as_float(static_cast<uint32_t>(b) << 16);
}

// Element i of row r of a device weight, as float.
__device__ __forceinline__ float weight_at(const DeviceWeight& w, int64_t r, int64_t i) {
  switch (w.type) {
    case GgmlType::F32:
      return static_cast<const float*>(w.q)[r * w.in + i];
    case GgmlType::F16:
      return half_bits_to_float(static_cast<const uint16_t*>(w.q)[r * w.in + i]);
    case GgmlType::BF16:
      return bf16_bits_to_float(static_cast<const uint16_t*>(w.q)[r * w.in + i]);
    case GgmlType::Q8_0: {
      const float d = half_bits_to_float(w.d[r * (w.in / 32) + i / 32]);
      return d * static_cast<const int8_t*>(w.q)[r * w.in + i];
    }
    case GgmlType::Q4_0: {
      const float d = half_bits_to_float(w.d[r * (w.in / 32) + i / 32]);
      const uint8_t byte =
          static_cast<const uint8_t*>(w.q)[r * (w.in / 2) + (i / 32) * 16 + i % 16];
      const int nib = (i % 32) < 16 ? (byte & 0x0F) : (byte >> 4);
      return d * static_cast<float>(nib - 8);
    }
    default:
      return 0.0f;  // the host refuses other types before any launch
  }
}

}  // namespace ma::cuda
