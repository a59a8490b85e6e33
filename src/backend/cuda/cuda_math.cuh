// Small device helpers the kernels share: warp and block reductions, the
// int8 copy of a warp's outputs, and reading one element of a weight row
// of any supported type.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/device_weight.h"
#include "backend/cuda/kernels.h"

namespace ma::cuda {

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Quantizes v, the value of this lane in a warp that holds 32 consecutive
// elements starting at `first` (a multiple of 32), into q8 (quantize_q8_1's
// layout).
__device__ __forceinline__ void quantize_warp(float v, int64_t first, Q8Out q8) {
  const float amax = warp_max(fabsf(v));
  const float d = amax / 127.0f;
  const int q = amax == 0.0f ? 0 : __float2int_rn(v / d);
  q8.q[first + (threadIdx.x & 31)] = static_cast<int8_t>(q);
  const float qsum = warp_sum(static_cast<float>(q));
  if ((threadIdx.x & 31) == 0)
    reinterpret_cast<float2*>(q8.s)[first / 32] = make_float2(d, d * qsum);
}

// The gate's activation of a gated feed-forward (SiLU or tanh-GELU).
template <GateActivation kAct>
__device__ __forceinline__ float gate_activation(float x) {
  if constexpr (kAct == GateActivation::kSilu) {
    return x / (1.0f + expf(-x));
  } else {
    const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
  }
}

// The factor 1 / rms of a pending RMSNorm (PendingRms) from its group
// sums, the same in every lane and every warp (one summation order).
__device__ __forceinline__ float pending_rms_factor(const PendingRms& r) {
  float ss = 0.0f;
  for (int64_t j = threadIdx.x & 31; j < r.dim / 32; j += 32) ss += r.parts[j];
  return rsqrtf(warp_sum(ss) / static_cast<float>(r.dim) + r.eps);
}

__device__ __forceinline__ int dot_int8x16(int4 a, int4 b, int s) {
  s = __dp4a(a.x, b.x, s);
  s = __dp4a(a.y, b.y, s);
  s = __dp4a(a.z, b.z, s);
  return __dp4a(a.w, b.w, s);
}

__device__ __forceinline__ int4 as_int4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return make_int4(static_cast<int>(a), static_cast<int>(b), static_cast<int>(c),
                   static_cast<int>(d));
}

// The int8 dot product of one Q4_0 block's quants as stored (0..15:
// element j in the low nibble of byte j, j + 16 in the high) with its
// activations lo (elements 0-15) and hi (16-31); the caller takes off
// 8 * sum(x).
__device__ __forceinline__ int dot_q4_0_block(uint4 w, int4 lo, int4 hi) {
  int s = 0;
  s = __dp4a(static_cast<int>(w.x & 0x0F0F0F0Fu), lo.x, s);
  s = __dp4a(static_cast<int>(w.y & 0x0F0F0F0Fu), lo.y, s);
  s = __dp4a(static_cast<int>(w.z & 0x0F0F0F0Fu), lo.z, s);
  s = __dp4a(static_cast<int>(w.w & 0x0F0F0F0Fu), lo.w, s);
  s = __dp4a(static_cast<int>((w.x >> 4) & 0x0F0F0F0Fu), hi.x, s);
  s = __dp4a(static_cast<int>((w.y >> 4) & 0x0F0F0F0Fu), hi.y, s);
  s = __dp4a(static_cast<int>((w.z >> 4) & 0x0F0F0F0Fu), hi.z, s);
  s = __dp4a(static_cast<int>((w.w >> 4) & 0x0F0F0F0Fu), hi.w, s);
  return s;
}

// v stored as T (float, or __half rounded to nearest).
template <typename T>
__device__ __forceinline__ void store_as(T* p, float v) {
  if constexpr (sizeof(T) == 2) {
    *p = __float2half_rn(v);
  } else {
    *p = v;
  }
}

// The physical row of position pos in a paged KV cache (block_table[pos /
// page_size] is its page).
__device__ __forceinline__ int64_t physical_row(const int32_t* table, int64_t page_size,
                                                int64_t pos) {
  return static_cast<int64_t>(table[pos / page_size]) * page_size + pos % page_size;
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

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K
// super-block from its 12 packed bytes, byte i read as at(i).
template <typename ByteAt>
__device__ __forceinline__ void k4_scale_min_at(ByteAt at, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = at(j) & 63;
    *m = at(j + 4) & 63;
  } else {
    *sc = (at(j + 4) & 0xF) | (at(j - 4) >> 6) << 4;
    *m = (at(j + 4) >> 4) | (at(j) >> 6) << 4;
  }
}

__device__ __forceinline__ void k4_scale_min(const uint8_t* packed, int j, int* sc, int* m) {
  k4_scale_min_at([packed](int i) { return static_cast<int>(packed[i]); }, j, sc, m);
}

// Byte i (0..15, not known at compile time) of four words held in
// registers: selects, where indexing an array would go through local memory.
__device__ __forceinline__ int byte_of(uint4 w, int i) {
  const uint32_t word = i < 8 ? (i < 4 ? w.x : w.y) : (i < 12 ? w.z : w.w);
  return static_cast<int>((word >> (8 * (i & 3))) & 0xFFu);
}

// Element e (0..255) of a Q6_K super-block in the device layout (d apart).
__device__ __forceinline__ float q6_k_at(const uint8_t* b, float d, int e) {
  const int g = (e % 128) / 32;
  const int low = (b[e / 128 * 64 + g % 2 * 32 + e % 32] >> (4 * (g / 2))) & 0xF;
  const int high = (b[128 + e / 128 * 32 + e % 32] >> (2 * g)) & 3;
  return d * static_cast<float>(static_cast<int8_t>(b[192 + e / 16])) *
         static_cast<float>((low | high << 4) - 32);
}

// Element e (0..255) of a Q5_K super-block: d, dmin, 12 bytes of packed
// 6-bit scales and mins, qh, qs.
__device__ __forceinline__ float q5_k_at(const uint8_t* b, int e) {
  const float d = half_bits_to_float(static_cast<uint16_t>(b[0] | b[1] << 8));
  const float dmin = half_bits_to_float(static_cast<uint16_t>(b[2] | b[3] << 8));
  int sc, m;
  k4_scale_min(b + 4, e / 32, &sc, &m);
  const uint8_t* qs = b + 48;
  int q = (qs[e / 64 * 32 + e % 32] >> (4 * ((e / 32) % 2))) & 0xF;
  q += 16 * ((b[16 + e % 32] >> (e / 32)) & 1);
  return d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m);
}

// Bytes of one 256-element super-block in device memory (Q5_K, Q6_K;
// Q4_K is stored as Q4_0-shaped rows).
__host__ __device__ constexpr int kquant_block_bytes(GgmlType type) {
  return type == GgmlType::Q6_K ? 208 : 176;
}

// The 6-bit scale and min codes of 32-element block j (0..7) of a Q4_K
// super-block from its device header h (device_store.cpp: flatten_q4_k):
// {d, dmin}, the scales' low nibbles, the mins' low nibbles, their top two
// bits.
__device__ __forceinline__ int2 q4_k_codes(uint4 h, int j) {
  return make_int2(static_cast<int>(((h.y >> (4 * j)) & 0xFu) | ((h.w >> (2 * j)) & 3u) << 4),
                   static_cast<int>(((h.z >> (4 * j)) & 0xFu) | ((h.w >> (16 + 2 * j)) & 3u) << 4));
}

// The super-block's {d, dmin} from the same header.
__device__ __forceinline__ float2 q4_k_d_dmin(uint4 h) {
  return make_float2(half_bits_to_float(static_cast<uint16_t>(h.x & 0xFFFFu)),
                     half_bits_to_float(static_cast<uint16_t>(h.x >> 16)));
}

// The scale and offset of block j: its product with x is
// s.x * sum(q x) - s.y * sum(x), as Q4_0's is with s = {d, 8 d}.
__device__ __forceinline__ float2 q4_k_scale(uint4 h, int j) {
  const int2 c = q4_k_codes(h, j);
  const float2 d = q4_k_d_dmin(h);
  return make_float2(d.x * static_cast<float>(c.x), d.y * static_cast<float>(c.y));
}

// Element e (0..31) of a Q4_0-shaped block's 16 nibble bytes, as stored.
__device__ __forceinline__ int q4_nibble(const uint8_t* block, int e) {
  const uint8_t byte = block[e % 16];
  return e < 16 ? (byte & 0x0F) : (byte >> 4);
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
    case GgmlType::Q4_0:
    case GgmlType::Q4_K: {
      const int64_t b = r * (w.in / 32) + i / 32;
      const int nib =
          q4_nibble(static_cast<const uint8_t*>(w.q) + b * 16, static_cast<int>(i % 32));
      if (w.type == GgmlType::Q4_0) return half_bits_to_float(w.d[b]) * static_cast<float>(nib - 8);
      const float2 s =
          q4_k_scale(reinterpret_cast<const uint4*>(w.d)[b / 8], static_cast<int>(b % 8));
      return s.x * static_cast<float>(nib) - s.y;
    }
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: {
      const int64_t nsb = w.in / 256, bb = kquant_block_bytes(w.type);
      const auto* b = static_cast<const uint8_t*>(w.q) + (r * nsb + i / 256) * bb;
      const int e = static_cast<int>(i % 256);
      if (w.type == GgmlType::Q6_K)
        return q6_k_at(b, half_bits_to_float(w.d[r * nsb + i / 256]), e);
      return q5_k_at(b, e);
    }
    default:
      return 0.0f;  // the host refuses other types before any launch
  }
}

}  // namespace ma::cuda
