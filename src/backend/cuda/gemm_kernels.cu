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

// Q4_0 / Q8_0 / Q4_K (Q4_0-shaped on the device): one thread per 32-element
// block, 16-byte loads and stores.
template <GgmlType kType>
__global__ void dequantize_blocks_kernel(const uint8_t* q, const uint16_t* d, int64_t n_blocks,
                                         uint4* out) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= n_blocks) return;
  if constexpr (kType == GgmlType::Q4_K) {
    const float2 s = q4_k_scale(reinterpret_cast<const uint4*>(d)[b / 8], static_cast<int>(b % 8));
    const uint4 w = reinterpret_cast<const uint4*>(q)[b];
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&w);
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      __half2 h[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const int e = 8 * c + 2 * k;
        h[k] = __floats2half2_rn(s.x * static_cast<float>(q4_nibble(bytes, e)) - s.y,
                                 s.x * static_cast<float>(q4_nibble(bytes, e + 1)) - s.y);
      }
      out[4 * b + c] = *reinterpret_cast<const uint4*>(h);
    }
    return;
  }
  const __half2 scale = __half2half2(__ushort_as_half(d[b]));
  int8_t v[32];
  if constexpr (kType == GgmlType::Q4_0) {
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

// Q5_K / Q6_K: one thread per 8 consecutive elements of a super-block (one
// scale, one bit position), decoding the block's header once for all 8 and
// storing them with one 16-byte store.
template <GgmlType kType>
__global__ void dequantize_kquant_kernel(DeviceWeight w, uint4* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= w.in * w.out / 8) return;
  const int64_t sb = i / 32;  // super-block, row-major over the whole weight
  const int e = 8 * static_cast<int>(i % 32);
  const auto* b = static_cast<const uint8_t*>(w.q) + sb * kquant_block_bytes(kType);
  float v[8];
  if constexpr (kType == GgmlType::Q6_K) {
    const int g = (e % 128) / 32;
    const int ql = e / 128 * 64 + g % 2 * 32 + e % 32, qh = 128 + e / 128 * 32 + e % 32;
    const float scale =
        half_bits_to_float(w.d[sb]) * static_cast<float>(static_cast<int8_t>(b[192 + e / 16]));
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int q = ((b[ql + j] >> (4 * (g / 2))) & 0xF) | ((b[qh + j] >> (2 * g)) & 3) << 4;
      v[j] = scale * static_cast<float>(q - 32);
    }
  } else {
    const int sub = e / 32, q_off = 48 + e / 64 * 32 + e % 32;
    int sc, m;
    k4_scale_min(b + 4, sub, &sc, &m);
    const float d = half_bits_to_float(static_cast<uint16_t>(b[0] | b[1] << 8));
    const float dmin = half_bits_to_float(static_cast<uint16_t>(b[2] | b[3] << 8));
    const float scale = d * static_cast<float>(sc), offset = dmin * static_cast<float>(m);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      int q = (b[q_off + j] >> (4 * (sub % 2))) & 0xF;
      q += 16 * ((b[16 + e % 32 + j] >> sub) & 1);
      v[j] = scale * static_cast<float>(q) - offset;
    }
  }
  __half2 h[4];
#pragma unroll
  for (int k = 0; k < 4; ++k) h[k] = __floats2half2_rn(v[2 * k], v[2 * k + 1]);
  out[i] = *reinterpret_cast<const uint4*>(h);
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
  const auto* q = static_cast<const uint8_t*>(w.q);
  auto* o = reinterpret_cast<uint4*>(out);
  if (w.type == GgmlType::Q4_0) {
    dequantize_blocks_kernel<GgmlType::Q4_0>
        <<<blocks_for(n_blocks), kThreads, 0, s>>>(q, w.d, n_blocks, o);
  } else if (w.type == GgmlType::Q8_0) {
    dequantize_blocks_kernel<GgmlType::Q8_0>
        <<<blocks_for(n_blocks), kThreads, 0, s>>>(q, w.d, n_blocks, o);
  } else if (w.type == GgmlType::Q4_K) {
    dequantize_blocks_kernel<GgmlType::Q4_K>
        <<<blocks_for(n_blocks), kThreads, 0, s>>>(q, w.d, n_blocks, o);
  } else if (w.type == GgmlType::Q5_K) {
    dequantize_kquant_kernel<GgmlType::Q5_K>
        <<<blocks_for(w.in * w.out / 8), kThreads, 0, s>>>(w, reinterpret_cast<uint4*>(out));
  } else if (w.type == GgmlType::Q6_K) {
    dequantize_kquant_kernel<GgmlType::Q6_K>
        <<<blocks_for(w.in * w.out / 8), kThreads, 0, s>>>(w, reinterpret_cast<uint4*>(out));
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
