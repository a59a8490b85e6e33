// Rotary position embedding. The angle of pair i at position p is p * rate[i]
// (every scaling variant GGUF declares is linear in p, see ops/rope.h); it is
// formed and reduced modulo 2*pi in double so long contexts keep fp32 accuracy.
#include "backend/cuda/kernels.h"

namespace ma::cuda {
namespace {

__global__ void rope_kernel(float* x, int64_t n, int64_t heads, int64_t head_dim, int64_t n_dims,
                            bool neox, const int64_t* positions, const double* rates,
                            float mscale) {
  const int64_t half = n_dims / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n * heads * half) return;
  const int64_t i = idx % half;
  const int64_t row = idx / half;  // token * heads + head
  const int64_t t = row / heads;
  double a = static_cast<double>(positions[t]) * rates[i];
  a -= 6.283185307179586 * rint(a / 6.283185307179586);
  float sn, cs;
  sincosf(static_cast<float>(a), &sn, &cs);
  cs *= mscale;
  sn *= mscale;
  float* v = x + row * head_dim;
  const int64_t i0 = neox ? i : 2 * i;
  const int64_t i1 = neox ? i + half : 2 * i + 1;
  const float x0 = v[i0], x1 = v[i1];
  v[i0] = x0 * cs - x1 * sn;
  v[i1] = x0 * sn + x1 * cs;
}

}  // namespace

void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, int64_t n_dims, bool neox,
          const int64_t* positions, const double* rates, float mscale, cudaStream_t s) {
  const int64_t total = n * heads * (n_dims / 2);
  if (total == 0) return;
  constexpr int kThreads = 256;
  rope_kernel<<<static_cast<unsigned>((total + kThreads - 1) / kThreads), kThreads, 0, s>>>(
      x, n, heads, head_dim, n_dims, neox, positions, rates, mscale);
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace ma::cuda
