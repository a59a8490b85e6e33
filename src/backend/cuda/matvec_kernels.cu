// Matrix-vector products for decode: one warp per output row, each lane
// reading 16-byte chunks so every weight byte is loaded once, coalesced,
// with kUnroll independent loads in flight per lane. Q4_0 / Q8_0 multiply
// int8 activations (quantize_q8_1) with dp4a; float types multiply the
// float activations directly. One launch may cover several weights that
// read the same input (q, k, v; gate, up).
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"

namespace ma::cuda {
namespace {

constexpr int kWarps = 4;   // rows per thread block
constexpr int kUnroll = 4;  // 16-byte loads in flight per lane

// One warp per 32-element block: int8 quants, scale, and scale * sum(quants).
__global__ void quantize_q8_1_kernel(const float* x, int64_t n_blocks, int8_t* xq, float2* xs) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (b >= n_blocks) return;
  const float v = x[b * 32 + threadIdx.x];
  const float amax = warp_max(fabsf(v));
  const float d = amax / 127.0f;
  const int q = amax == 0.0f ? 0 : __float2int_rn(v / d);
  xq[b * 32 + threadIdx.x] = static_cast<int8_t>(q);
  const float qsum = warp_sum(static_cast<float>(q));
  if (threadIdx.x == 0) xs[b] = make_float2(d, d * qsum);
}

struct Activations {
  const float* x;
  const int4* xq;  // int8 quants, 32 per block
  const float2* xs;
};

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

__device__ __forceinline__ int dot_int8x16(int4 a, int4 b, int s) {
  s = __dp4a(a.x, b.x, s);
  s = __dp4a(a.y, b.y, s);
  s = __dp4a(a.z, b.z, s);
  return __dp4a(a.w, b.w, s);
}

// Partial dot products of this lane; the caller sums the warp.
__device__ float row_q4_0(const DeviceWeight& w, int64_t row, const Activations& a) {
  const int64_t nb = w.in / 32;
  const uint4* qr =
      reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(w.q) + row * nb * 16);
  const uint16_t* dr = w.d + row * nb;
  float acc = 0.0f;
  for (int64_t b0 = threadIdx.x; b0 < nb; b0 += 32 * kUnroll) {
    uint4 q[kUnroll];
    uint16_t d[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + 32 * u;
      if (b < nb) {
        q[u] = __ldg(qr + b);
        d[u] = __ldg(dr + b);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + 32 * u;
      if (b < nb) {
        const int s = dot_q4_0_block(q[u], a.xq[2 * b], a.xq[2 * b + 1]);
        const float2 xs = a.xs[b];
        // Quants are stored +8: sum (q - 8) x = sum q x - 8 sum x.
        acc += half_bits_to_float(d[u]) * (xs.x * static_cast<float>(s) - 8.0f * xs.y);
      }
    }
  }
  return acc;
}

__device__ float row_q8_0(const DeviceWeight& w, int64_t row, const Activations& a) {
  const int64_t nb = w.in / 32;
  const int4* qr = reinterpret_cast<const int4*>(static_cast<const int8_t*>(w.q) + row * w.in);
  const uint16_t* dr = w.d + row * nb;
  float acc = 0.0f;
  for (int64_t b0 = threadIdx.x; b0 < nb; b0 += 32 * kUnroll) {
    int4 q0[kUnroll], q1[kUnroll];
    uint16_t d[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + 32 * u;
      if (b < nb) {
        q0[u] = __ldg(qr + 2 * b);
        q1[u] = __ldg(qr + 2 * b + 1);
        d[u] = __ldg(dr + b);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + 32 * u;
      if (b < nb) {
        const int s = dot_int8x16(q1[u], a.xq[2 * b + 1], dot_int8x16(q0[u], a.xq[2 * b], 0));
        acc += half_bits_to_float(d[u]) * a.xs[b].x * static_cast<float>(s);
      }
    }
  }
  return acc;
}

// 16-bit float rows (F16 or BF16): 8 elements per 16-byte load.
template <bool kBf16>
__device__ float row_16bit(const DeviceWeight& w, int64_t row, const Activations& a) {
  const uint4* wr = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(w.q) + row * w.in);
  const float4* x4 = reinterpret_cast<const float4*>(a.x);
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < w.in / 8; c += 32) {
    const uint4 p = __ldg(wr + c);
    const float4 lo = x4[2 * c], hi = x4[2 * c + 1];
    const uint32_t words[4] = {p.x, p.y, p.z, p.w};
    const float xs[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint16_t e0 = static_cast<uint16_t>(words[k] & 0xFFFFu);
      const uint16_t e1 = static_cast<uint16_t>(words[k] >> 16);
      const float f0 = kBf16 ? bf16_bits_to_float(e0) : half_bits_to_float(e0);
      const float f1 = kBf16 ? bf16_bits_to_float(e1) : half_bits_to_float(e1);
      acc += f0 * xs[2 * k] + f1 * xs[2 * k + 1];
    }
  }
  return acc;
}

__device__ float row_f32(const DeviceWeight& w, int64_t row, const Activations& a) {
  const float4* wr = reinterpret_cast<const float4*>(static_cast<const float*>(w.q) + row * w.in);
  const float4* x4 = reinterpret_cast<const float4*>(a.x);
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < w.in / 4; c += 32) {
    const float4 p = __ldg(wr + c), b = x4[c];
    acc += p.x * b.x + p.y * b.y + p.z * b.z + p.w * b.w;
  }
  return acc;
}

// Q6_K (the usual type of the output head): a warp per super-block, each
// lane eight consecutive elements, which share one scale and one bit group.
__device__ float row_q6_k(const DeviceWeight& w, int64_t row, const Activations& a) {
  constexpr int64_t kBytes = 210;
  const int64_t nsb = w.in / 256;
  const auto* blocks = static_cast<const uint8_t*>(w.q) + row * nsb * kBytes;
  const int e = 8 * static_cast<int>(threadIdx.x);
  const int g = (e % 128) / 32;
  const int ql_off = e / 128 * 64 + g % 2 * 32 + e % 32, qh_off = 128 + e / 128 * 32 + e % 32;
  const int low_shift = 4 * (g / 2), high_shift = 2 * g;
  float acc = 0.0f;
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* b = blocks + sb * kBytes;
    const float4 x0 = reinterpret_cast<const float4*>(a.x + sb * 256 + e)[0];
    const float4 x1 = reinterpret_cast<const float4*>(a.x + sb * 256 + e)[1];
    const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int q = ((b[ql_off + j] >> low_shift) & 0xF) | ((b[qh_off + j] >> high_shift) & 3) << 4;
      sum += xs[j] * static_cast<float>(q - 32);
    }
    const float d = half_bits_to_float(static_cast<uint16_t>(b[208] | b[209] << 8));
    acc += d * static_cast<float>(static_cast<int8_t>(b[192 + e / 16])) * sum;
  }
  return acc;
}

// Q4_K / Q5_K (the bulk of Q4_K_M / Q5_K_M files): a warp per super-block,
// each lane eight consecutive elements of one 32-element sub-block, so one
// scale/min pair and one nibble (and fifth-bit) position per lane.
template <bool kQ5>
__device__ float row_q45_k(const DeviceWeight& w, int64_t row, const Activations& a) {
  constexpr int64_t kBytes = kQ5 ? 176 : 144;
  constexpr int kQs = kQ5 ? 48 : 16;  // offset of the nibbles
  const int64_t nsb = w.in / 256;
  const auto* blocks = static_cast<const uint8_t*>(w.q) + row * nsb * kBytes;
  const int e = 8 * static_cast<int>(threadIdx.x);
  const int sub = e / 32;
  const int q_off = kQs + e / 64 * 32 + e % 32, shift = 4 * (sub % 2);
  float acc = 0.0f;
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* b = blocks + sb * kBytes;
    const float4 x0 = reinterpret_cast<const float4*>(a.x + sb * 256 + e)[0];
    const float4 x1 = reinterpret_cast<const float4*>(a.x + sb * 256 + e)[1];
    const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
    float qx = 0.0f, sx = 0.0f;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      int q = (b[q_off + j] >> shift) & 0xF;
      if (kQ5) q += 16 * ((b[16 + e % 32 + j] >> sub) & 1);
      qx += xs[j] * static_cast<float>(q);
      sx += xs[j];
    }
    int sc, m;
    k4_scale_min(b + 4, sub, &sc, &m);
    const float d = half_bits_to_float(static_cast<uint16_t>(b[0] | b[1] << 8));
    const float dmin = half_bits_to_float(static_cast<uint16_t>(b[2] | b[3] << 8));
    acc += d * static_cast<float>(sc) * qx - dmin * static_cast<float>(m) * sx;
  }
  return acc;
}

__device__ float row_dot(const DeviceWeight& w, int64_t row, const Activations& a) {
  switch (w.type) {
    case GgmlType::Q6_K:
      return row_q6_k(w, row, a);
    case GgmlType::Q4_K:
      return row_q45_k<false>(w, row, a);
    case GgmlType::Q5_K:
      return row_q45_k<true>(w, row, a);
    case GgmlType::Q4_0:
      return row_q4_0(w, row, a);
    case GgmlType::Q8_0:
      return row_q8_0(w, row, a);
    case GgmlType::F16:
      return row_16bit<false>(w, row, a);
    case GgmlType::BF16:
      return row_16bit<true>(w, row, a);
    default:  // F32
      return row_f32(w, row, a);
  }
}

// Rows of all weights of the group, one after another.
__global__ void matvec_kernel(MatvecGroup g, Activations a) {
  int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  int k = 0;
  while (k < g.count && row >= g.w[k].out) row -= g.w[k++].out;
  if (k == g.count) return;
  const float acc = warp_sum(row_dot(g.w[k], row, a));
  if (threadIdx.x == 0) g.y[k][row] = acc;
}

}  // namespace

bool matvec_needs_q8_1(GgmlType type) {
  return type == GgmlType::Q4_0 || type == GgmlType::Q8_0;
}

void quantize_q8_1(const float* x, int64_t n, int64_t in, int8_t* xq, float* xs, cudaStream_t s) {
  const int64_t n_blocks = n * in / 32;
  const dim3 block(32, kWarps);
  quantize_q8_1_kernel<<<static_cast<unsigned>((n_blocks + kWarps - 1) / kWarps), block, 0, s>>>(
      x, n_blocks, xq, reinterpret_cast<float2*>(xs));
  MA_CUDA_CHECK_LAUNCH();
}

void matvec(const MatvecGroup& g, const float* x, const int8_t* xq, const float* xs,
            cudaStream_t s) {
  int64_t rows = 0;
  for (int k = 0; k < g.count; ++k) rows += g.w[k].out;
  const dim3 block(32, kWarps);
  const Activations a{x, reinterpret_cast<const int4*>(xq), reinterpret_cast<const float2*>(xs)};
  matvec_kernel<<<static_cast<unsigned>((rows + kWarps - 1) / kWarps), block, 0, s>>>(g, a);
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace ma::cuda
