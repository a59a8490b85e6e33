// Rotary position embedding (rope.cuh), alone or with the KV store.
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/rope.cuh"

namespace ma::cuda {
namespace {

__global__ void rope_kernel(float* x, int64_t n, int64_t heads, int64_t head_dim, RopeDevice r,
                            const int64_t* positions) {
  pdl_start();
  const int64_t half = r.n_dims / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n * heads * half) return;
  const int64_t i = idx % half;
  const int64_t row = idx / half;  // token * heads + head
  float* v = x + row * head_dim;
  const int2 e = pair_elements(r, i);
  const float2 o =
      rotate_pair(make_float2(v[e.x], v[e.y]), rope_turn(r, positions[row / heads], i));
  v[e.x] = o.x;
  v[e.y] = o.y;
}

// Block (head, token): heads [0, n_head) are q's, rotated in place; the next
// n_head_kv are k's, rotated into the cache, with v copied beside them.
// Thread i owns the two elements of pair i.
template <typename T>
__global__ void rope_store_kernel(KvLayerDevice kv, float* q, const float* k, const float* v,
                                  int64_t n_head, int64_t n_head_kv, int64_t head_dim, RopeDevice r,
                                  const int64_t* positions) {
  pdl_start();
  const int64_t h = blockIdx.x, t = blockIdx.y, i = threadIdx.x;
  const int64_t pos = positions[t];
  const int2 e = pair_elements(r, i);
  const float2 cs = i < r.n_dims / 2 ? rope_turn(r, pos, i) : make_float2(1.0f, 0.0f);
  if (h < n_head) {
    float* row = q + (t * n_head + h) * head_dim;
    const float2 o = rotate_pair(make_float2(row[e.x], row[e.y]), cs);
    row[e.x] = o.x;
    row[e.y] = o.y;
    return;
  }
  const int64_t hk = h - n_head;
  const int64_t src = (t * n_head_kv + hk) * head_dim;
  const int64_t dst =
      physical_row(kv.block_table, kv.page_size, pos) * kv.row_elems + hk * head_dim;
  const float2 o = rotate_pair(make_float2(k[src + e.x], k[src + e.y]), cs);
  T* kc = static_cast<T*>(kv.k) + dst;
  T* vc = static_cast<T*>(kv.v) + dst;
  store_as(kc + e.x, o.x);
  store_as(kc + e.y, o.y);
  store_as(vc + e.x, v[src + e.x]);
  store_as(vc + e.y, v[src + e.y]);
}

}  // namespace

void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const RopeDevice& r,
          const int64_t* positions, cudaStream_t s) {
  const int64_t total = n * heads * (r.n_dims / 2);
  if (total == 0) return;
  constexpr int kThreads = 256;
  launch(rope_kernel, dim3(static_cast<unsigned>((total + kThreads - 1) / kThreads)),
         dim3(kThreads), 0, s, x, n, heads, head_dim, r, positions);
}

void rope_store(const KvLayerDevice& kv, float* q, const float* k, const float* v, int64_t n,
                int64_t n_head, int64_t n_head_kv, int64_t head_dim, const RopeDevice& r,
                const int64_t* positions, cudaStream_t s) {
  if (n == 0) return;
  const dim3 grid(static_cast<unsigned>(n_head + n_head_kv), static_cast<unsigned>(n));
  const dim3 block(static_cast<unsigned>(head_dim / 2));
  if (kv.f16) {
    launch(rope_store_kernel<__half>, grid, block, 0, s, kv, q, k, v, n_head, n_head_kv, head_dim,
           r, positions);
  } else {
    launch(rope_store_kernel<float>, grid, block, 0, s, kv, q, k, v, n_head, n_head_kv, head_dim, r,
           positions);
  }
}

}  // namespace ma::cuda
