// Matrix-vector products for decode: one warp per output row, each lane
// reading 16-byte chunks so every weight byte is loaded once, coalesced.
// Q4_0 / Q8_0 multiply int8 activations (quantize_q8_1) with dp4a; float
// types multiply the float activations directly.
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"

namespace ma::cuda {
namespace {

constexpr int kWarps = 4;  // rows per thread block

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

__global__ void matvec_q4_0_kernel(const uint8_t* __restrict__ q, const uint16_t* __restrict__ d,
                                   const int8_t* __restrict__ xq, const float2* __restrict__ xs,
                                   float* __restrict__ y, int64_t in, int64_t out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (row >= out) return;
  const int64_t nb = in / 32;
  const uint4* qr = reinterpret_cast<const uint4*>(q + row * nb * 16);
  const uint16_t* dr = d + row * nb;
  const int4* x4 = reinterpret_cast<const int4*>(xq);
  float acc = 0.0f;
  for (int64_t b = threadIdx.x; b < nb; b += 32) {
    const uint4 w = qr[b];
    const int4 lo = x4[2 * b], hi = x4[2 * b + 1];  // elements 0..15 and 16..31
    int s = 0;
    s = __dp4a(static_cast<int>(w.x & 0x0F0F0F0Fu), lo.x, s);
    s = __dp4a(static_cast<int>(w.y & 0x0F0F0F0Fu), lo.y, s);
    s = __dp4a(static_cast<int>(w.z & 0x0F0F0F0Fu), lo.z, s);
    s = __dp4a(static_cast<int>(w.w & 0x0F0F0F0Fu), lo.w, s);
    s = __dp4a(static_cast<int>((w.x >> 4) & 0x0F0F0F0Fu), hi.x, s);
    s = __dp4a(static_cast<int>((w.y >> 4) & 0x0F0F0F0Fu), hi.y, s);
    s = __dp4a(static_cast<int>((w.z >> 4) & 0x0F0F0F0Fu), hi.z, s);
    s = __dp4a(static_cast<int>((w.w >> 4) & 0x0F0F0F0Fu), hi.w, s);
    const float2 a = xs[b];
    // Quants are stored +8: sum (q - 8) x = sum q x - 8 sum x.
    acc += half_bits_to_float(dr[b]) * (a.x * static_cast<float>(s) - 8.0f * a.y);
  }
  acc = warp_sum(acc);
  if (threadIdx.x == 0) y[row] = acc;
}

__global__ void matvec_q8_0_kernel(const int8_t* __restrict__ q, const uint16_t* __restrict__ d,
                                   const int8_t* __restrict__ xq, const float2* __restrict__ xs,
                                   float* __restrict__ y, int64_t in, int64_t out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (row >= out) return;
  const int64_t nb = in / 32;
  const int4* qr = reinterpret_cast<const int4*>(q + row * in);
  const uint16_t* dr = d + row * nb;
  const int4* x4 = reinterpret_cast<const int4*>(xq);
  float acc = 0.0f;
  for (int64_t b = threadIdx.x; b < nb; b += 32) {
    const int4 w0 = qr[2 * b], w1 = qr[2 * b + 1];
    const int4 x0 = x4[2 * b], x1 = x4[2 * b + 1];
    int s = 0;
    s = __dp4a(w0.x, x0.x, s);
    s = __dp4a(w0.y, x0.y, s);
    s = __dp4a(w0.z, x0.z, s);
    s = __dp4a(w0.w, x0.w, s);
    s = __dp4a(w1.x, x1.x, s);
    s = __dp4a(w1.y, x1.y, s);
    s = __dp4a(w1.z, x1.z, s);
    s = __dp4a(w1.w, x1.w, s);
    acc += half_bits_to_float(dr[b]) * xs[b].x * static_cast<float>(s);
  }
  acc = warp_sum(acc);
  if (threadIdx.x == 0) y[row] = acc;
}

// 16-bit float rows (F16 or BF16): 8 elements per 16-byte load.
template <bool kBf16>
__global__ void matvec_16bit_kernel(const uint16_t* __restrict__ w, const float* __restrict__ x,
                                    float* __restrict__ y, int64_t in, int64_t out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (row >= out) return;
  const uint4* wr = reinterpret_cast<const uint4*>(w + row * in);
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < in / 8; c += 32) {
    const uint4 p = wr[c];
    const float4 a = x4[2 * c], b = x4[2 * c + 1];
    const uint32_t words[4] = {p.x, p.y, p.z, p.w};
    const float xs[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint16_t e0 = static_cast<uint16_t>(words[k] & 0xFFFFu);
      const uint16_t e1 = static_cast<uint16_t>(words[k] >> 16);
      const float f0 = kBf16 ? bf16_bits_to_float(e0) : half_bits_to_float(e0);
      const float f1 = kBf16 ? bf16_bits_to_float(e1) : half_bits_to_float(e1);
      acc += f0 * xs[2 * k] + f1 * xs[2 * k + 1];
    }
  }
  acc = warp_sum(acc);
  if (threadIdx.x == 0) y[row] = acc;
}

__global__ void matvec_f32_kernel(const float* __restrict__ w, const float* __restrict__ x,
                                  float* __restrict__ y, int64_t in, int64_t out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (row >= out) return;
  const float4* wr = reinterpret_cast<const float4*>(w + row * in);
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < in / 4; c += 32) {
    const float4 a = wr[c], b = x4[c];
    acc += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
  }
  acc = warp_sum(acc);
  if (threadIdx.x == 0) y[row] = acc;
}

// K-quants: each lane decodes whole 32-element sub-blocks in registers.
__global__ void matvec_kquant_kernel(DeviceWeight w, const float* __restrict__ x,
                                     float* __restrict__ y) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (row >= w.out) return;
  const int64_t bb = kquant_block_bytes(w.type);
  const auto* blocks = static_cast<const uint8_t*>(w.q) + row * (w.in / 256) * bb;
  float acc = 0.0f;
  for (int64_t sub = threadIdx.x; sub < w.in / 32; sub += 32) {
    const uint8_t* b = blocks + (sub / 8) * bb;
    const int e0 = static_cast<int>(sub % 8) * 32;
    const float* xs = x + sub * 32;
#pragma unroll 8
    for (int j = 0; j < 32; ++j) acc += kquant_at(w.type, b, e0 + j) * xs[j];
  }
  acc = warp_sum(acc);
  if (threadIdx.x == 0) y[row] = acc;
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

void matvec(const DeviceWeight& w, const float* x, const int8_t* xq, const float* xs, float* y,
            cudaStream_t s) {
  const dim3 block(32, kWarps);
  const unsigned grid = static_cast<unsigned>((w.out + kWarps - 1) / kWarps);
  const float2* xs2 = reinterpret_cast<const float2*>(xs);
  switch (w.type) {
    case GgmlType::Q4_0:
      matvec_q4_0_kernel<<<grid, block, 0, s>>>(static_cast<const uint8_t*>(w.q), w.d, xq, xs2, y,
                                                w.in, w.out);
      break;
    case GgmlType::Q8_0:
      matvec_q8_0_kernel<<<grid, block, 0, s>>>(static_cast<const int8_t*>(w.q), w.d, xq, xs2, y,
                                                w.in, w.out);
      break;
    case GgmlType::F16:
      matvec_16bit_kernel<false>
          <<<grid, block, 0, s>>>(static_cast<const uint16_t*>(w.q), x, y, w.in, w.out);
      break;
    case GgmlType::BF16:
      matvec_16bit_kernel<true>
          <<<grid, block, 0, s>>>(static_cast<const uint16_t*>(w.q), x, y, w.in, w.out);
      break;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      matvec_kquant_kernel<<<grid, block, 0, s>>>(w, x, y);
      break;
    default:
      matvec_f32_kernel<<<grid, block, 0, s>>>(static_cast<const float*>(w.q), x, y, w.in, w.out);
      break;
  }
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace ma::cuda
