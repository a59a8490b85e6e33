// Rotary position embedding, shared by the RoPE kernels and the q/k/v
// matvec that rotates in its epilogue. The angle of pair i at position p is
// p * rate[i] (every scaling variant GGUF declares is linear in p, see
// ops/rope.h); it is formed and reduced modulo 2*pi in double so long
// contexts keep fp32 accuracy.
#pragma once

#include "backend/cuda/kernels.h"

namespace ma::cuda {

// cos and sin of pair i at position pos, times mscale.
__device__ __forceinline__ float2 rope_turn(const RopeDevice& r, int64_t pos, int64_t i) {
  double a = static_cast<double>(pos) * r.rates[i];
  a -= 6.283185307179586 * rint(a / 6.283185307179586);
  float sn, cs;
  sincosf(static_cast<float>(a), &sn, &cs);
  return make_float2(cs * r.mscale, sn * r.mscale);
}

// The two elements of a head that pair i of head_dim / 2 covers: the rotated
// pairs first (NeoX: i and i + n_dims / 2, else 2i and 2i + 1), then the
// unrotated tail of a partial rotation two at a time.
__device__ __forceinline__ int2 pair_elements(const RopeDevice& r, int64_t i) {
  const int64_t half = r.n_dims / 2;
  if (i >= half) {
    const int64_t e = r.n_dims + 2 * (i - half);
    return make_int2(static_cast<int>(e), static_cast<int>(e + 1));
  }
  return r.neox ? make_int2(static_cast<int>(i), static_cast<int>(i + half))
                : make_int2(static_cast<int>(2 * i), static_cast<int>(2 * i + 1));
}

__device__ __forceinline__ float2 rotate_pair(float2 v, float2 cs) {
  return make_float2(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x);
}

}  // namespace ma::cuda
