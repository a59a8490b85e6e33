// What the decode matvec kernels share (matvec_kernels.cu, matvec_streamed.cu):
// the activations a launch reads and the pending RMS factor it applies.
#pragma once

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
