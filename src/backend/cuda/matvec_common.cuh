// What the decode matvec kernels share (matvec_kernels.cu, matvec_streamed.cu):
// the activations a launch reads and the pending RMS factor it applies.
#pragma once

#include <type_traits>

#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"

namespace ma::cuda {

struct Activations {
  const float* x;
  const int4* xq;  // int8 quants, 32 per block
  const float2* xs;
  PendingRms rms;
};

inline Activations activations(const MatvecInput& in) {
  return {in.x, reinterpret_cast<const int4*>(in.xq), reinterpret_cast<const float2*>(in.xs),
          in.rms};
}

// Q4_0 and Q4_K share a device shape (device_weight.h): 16 nibble bytes per
// 32-element block, and per block the scale bits a lane loads, Q4_0's fp16
// scale or the 16-byte header of the Q4_K super-block the block is in.
template <GgmlType kType>
using Q4ScaleBits = std::conditional_t<kType == GgmlType::Q4_K, uint4, uint16_t>;

template <GgmlType kType>
__device__ __forceinline__ Q4ScaleBits<kType> load_q4_scale(const uint16_t* row_d, int64_t b) {
  if constexpr (kType == GgmlType::Q4_K) {
    return __ldg(reinterpret_cast<const uint4*>(row_d) + b / 8);
  } else {
    return __ldg(row_d + b);
  }
}

// Block b's share of its row's product: dot is the int8 dot of its quants
// (as stored) with x's, x = {x's scale, scale times the sum of x's quants}.
template <GgmlType kType>
__device__ __forceinline__ float q4_block_product(Q4ScaleBits<kType> s, int64_t b, int dot,
                                                  float2 x) {
  if constexpr (kType == GgmlType::Q4_K) {
    const float2 sc = q4_k_scale(s, static_cast<int>(b % 8));
    return sc.x * x.x * static_cast<float>(dot) - sc.y * x.y;
  } else {
    // Quants are stored +8: sum (q - 8) x = sum q x - 8 sum x.
    return half_bits_to_float(s) * (x.x * static_cast<float>(dot) - 8.0f * x.y);
  }
}

// The scale bits of block e of a tile in shared memory whose scale bits
// start at `scales` (rows of whole super-blocks for Q4_K).
template <GgmlType kType>
__device__ __forceinline__ Q4ScaleBits<kType> q4_scale_bits_at(const uint8_t* scales, int64_t e) {
  if constexpr (kType == GgmlType::Q4_K) {
    return *reinterpret_cast<const uint4*>(scales + e / 8 * 16);
  } else {
    return *reinterpret_cast<const uint16_t*>(scales + e * 2);
  }
}

// A pending RMS factor's group sums (PendingRms), loaded into registers
// before the weights so their latency hides behind the row's; the factor
// is summed after it. Up to 256 sums (dim 8192, a multiple of 128) are
// held; wider rows read theirs afterwards.
class RmsFactor {
 public:
  __device__ explicit RmsFactor(const PendingRms& r) : r_(r) {
    const int lane = static_cast<int>(threadIdx.x), n = static_cast<int>(r.dim / 32);
    held_ = r.parts != nullptr && r.dim % 128 == 0 && n <= 256;
    if (!held_) return;
    const auto* p4 = reinterpret_cast<const float4*>(r.parts);
    if (4 * lane < n) a_ = __ldcg(p4 + lane);
    if (4 * (lane + 32) < n) b_ = __ldcg(p4 + lane + 32);
  }
  __device__ float value() const {
    if (r_.parts == nullptr) return 1.0f;
    if (!held_) return pending_rms_factor(r_);
    const float ss = (a_.x + a_.y) + (a_.z + a_.w) + ((b_.x + b_.y) + (b_.z + b_.w));
    return rsqrtf(warp_sum(ss) / static_cast<float>(r_.dim) + r_.eps);
  }

 private:
  PendingRms r_;
  bool held_ = false;
  float4 a_ = make_float4(0.0f, 0.0f, 0.0f, 0.0f), b_ = a_;
};

// The launch that takes a pending factor writes the normed floats too (for
// whoever reads them later): its threads over the row, grid-stride.
__device__ __forceinline__ void write_normed(const PendingRms& r, float factor) {
  if (r.y_out == nullptr) return;
  const int64_t threads = blockDim.x * blockDim.y;
  const int64_t t = threadIdx.y * blockDim.x + threadIdx.x;
  for (int64_t i = blockIdx.x * threads + t; i < r.dim; i += gridDim.x * threads) {
    r.y_out[i] *= factor;
  }
}

// matvec_streamed.cu: launch the group on the streamed kernel when it takes
// it (see there), plain or with the q/k/v epilogue; return whether they did.
bool matvec_streamed(const MatvecGroup& g, const MatvecInput& in, cudaStream_t s);
bool matvec_streamed_qkv_rope(const MatvecGroup& g, const MatvecInput& in, const QkvRope& r,
                              cudaStream_t s);

}  // namespace ma::cuda
