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
    // The scale code times the dot is exact in int and in float (|.| <
    // 2^22): one conversion where scaling d first costs two products.
    const int2 c = q4_k_codes(s, static_cast<int>(b & 7));
    const float2 d = q4_k_d_dmin(s);
    return d.x * x.x * static_cast<float>(c.x * dot) - d.y * x.y * static_cast<float>(c.y);
  } else {
    // Quants are stored +8: sum (q - 8) x = sum q x - 8 sum x.
    return half_bits_to_float(s) * (x.x * static_cast<float>(dot) - 8.0f * x.y);
  }
}

// The fp16 scale of Q4_0 block e of a tile in shared memory whose scales
// start at `scales` (the streamed Q4_K loop reads its headers by row).
__device__ __forceinline__ uint16_t q4_0_scale_at(const uint8_t* scales, int64_t e) {
  return *reinterpret_cast<const uint16_t*>(scales + e * 2);
}

// Q6_K (device layout: ql[128], qh[64], scales[16] per super-block, its
// fp16 scale d apart): eight lanes per super-block. Lane (n, p) takes ql
// bytes [64n + 16p, +16): low nibbles are elements 128n + 32(p / 2) +
// 16(p % 2) + j, high nibbles those + 64; their two high bits sit in
// qh[32n + 16(p % 2) + j] at shifts 2(p / 2) and 4 + 2(p / 2).
constexpr int64_t kQ6Bytes = 208;

struct Q6Bits {
  uint4 ql, qh, sc;
  uint16_t d;
};

struct Q6Lane {
  int n, p, shift, e_lo;
  __device__ explicit Q6Lane(int lane)
      : n((lane % 8) / 4),
        p(lane % 4),
        shift(2 * (p / 2)),
        e_lo(128 * n + 32 * (p / 2) + 16 * (p % 2)) {}

  // This lane's bytes of the super-block at `block` and its scale (in
  // global memory, or a tile in shared memory).
  template <bool kShared = false>
  __device__ Q6Bits load(const uint8_t* block, const uint16_t* d) const {
    const auto at = [](const auto* q) {
      if constexpr (kShared) {
        return *q;
      } else {
        return __ldg(q);
      }
    };
    Q6Bits b;
    b.ql = at(reinterpret_cast<const uint4*>(block + 64 * n + 16 * p));
    b.qh = at(reinterpret_cast<const uint4*>(block + 128 + 32 * n + 16 * (p % 2)));
    b.sc = at(reinterpret_cast<const uint4*>(block + 192));
    b.d = at(d);
    return b;
  }

  // Their product with super-block sb of the activations.
  __device__ float dot(const Q6Bits& b, int64_t sb, const int4* xq, const float2* xs) const {
    const uint32_t l4[4] = {b.ql.x, b.ql.y, b.ql.z, b.ql.w};
    const uint32_t h4[4] = {b.qh.x, b.qh.y, b.qh.z, b.qh.w};
    uint32_t lo[4], hi[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      // The 6-bit quants as stored (0..63, so still int8s for dp4a); the
      // offset of 32 comes off as 32 times the activations' sum, a dp4a
      // per word against ones, cheaper than a byte-wise subtraction.
      lo[k] = (l4[k] & 0x0F0F0F0Fu) | ((h4[k] >> shift) & 0x03030303u) << 4;
      hi[k] = ((l4[k] >> 4) & 0x0F0F0F0Fu) | ((h4[k] >> (shift + 4)) & 0x03030303u) << 4;
    }
    const int4 ones = make_int4(0x01010101, 0x01010101, 0x01010101, 0x01010101);
    const int64_t x_lo = (sb * 256 + e_lo) / 16, x_hi = x_lo + 4;  // int4 = 16 quants
    const int4 xq_lo = xq[x_lo], xq_hi = xq[x_hi];
    const int dot_lo = dot_int8x16(as_int4(lo[0], lo[1], lo[2], lo[3]), xq_lo, 0) -
                       32 * dot_int8x16(ones, xq_lo, 0);
    const int dot_hi = dot_int8x16(as_int4(hi[0], hi[1], hi[2], hi[3]), xq_hi, 0) -
                       32 * dot_int8x16(ones, xq_hi, 0);
    const float s_lo = static_cast<float>(static_cast<int8_t>(byte_of(b.sc, e_lo / 16)));
    const float s_hi = static_cast<float>(static_cast<int8_t>(byte_of(b.sc, e_lo / 16 + 4)));
    return half_bits_to_float(b.d) * (s_lo * xs[x_lo / 2].x * static_cast<float>(dot_lo) +
                                      s_hi * xs[x_hi / 2].x * static_cast<float>(dot_hi));
  }
};

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
