// The paged KV cache on the device: storing rows, and causal attention that
// reads the pages through the block table (GQA by index, no copies of K/V).
// One thread block per (query token, head) walks the visible keys in tiles of
// kTile with an online softmax; scores live in shared memory.
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"
#include "core/error.h"

namespace ma::cuda {
namespace {

constexpr int kThreads = 128;  // 4 warps; also the key tile
constexpr int kTile = kThreads;
constexpr int kMaxHeadDim = 2 * kThreads;

template <typename T>
__device__ __forceinline__ float load(const T* p);
template <>
__device__ __forceinline__ float load<float>(const float* p) {
  return *p;
}
template <>
__device__ __forceinline__ float load<__half>(const __half* p) {
  return __half2float(*p);
}

template <typename T>
__device__ __forceinline__ void store(T* p, float v);
template <>
__device__ __forceinline__ void store<float>(float* p, float v) {
  *p = v;
}
template <>
__device__ __forceinline__ void store<__half>(__half* p, float v) {
  *p = __float2half_rn(v);
}

__device__ __forceinline__ int64_t physical_row(const int32_t* table, int64_t page_size,
                                                int64_t pos) {
  return static_cast<int64_t>(table[pos / page_size]) * page_size + pos % page_size;
}

template <typename T>
__global__ void kv_store_kernel(T* kc, T* vc, const int32_t* table, int64_t page_size,
                                int64_t row_elems, const float* k, const float* v,
                                const int64_t* positions) {
  const int64_t t = blockIdx.y;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= row_elems) return;
  const int64_t dst = physical_row(table, page_size, positions[t]) * row_elems + i;
  store(kc + dst, k[t * row_elems + i]);
  store(vc + dst, v[t * row_elems + i]);
}

struct AttnParams {
  int64_t n_head, n_head_kv, head_dim, row_elems, page_size, window;
  float scale, softcap;
};

template <typename T>
__global__ void attention_kernel(const T* kc, const T* vc, const int32_t* table, const float* q,
                                 const int64_t* positions, AttnParams p, float* out) {
  __shared__ float qs[kMaxHeadDim];
  __shared__ float ps[kTile];
  __shared__ float scratch[32];
  const int64_t t = blockIdx.x, h = blockIdx.y;
  const int64_t kvh = h / (p.n_head / p.n_head_kv);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t d = p.head_dim;
  const float* qrow = q + (t * p.n_head + h) * d;
  for (int64_t i = tid; i < d; i += kThreads) qs[i] = qrow[i] * p.scale;
  __syncthreads();

  const int64_t pos = positions[t];
  const int64_t lo = p.window > 0 && pos - p.window + 1 > 0 ? pos - p.window + 1 : 0;
  float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
  for (int64_t j0 = lo; j0 <= pos; j0 += kTile) {
    const int cnt = static_cast<int>(pos - j0 + 1 < kTile ? pos - j0 + 1 : kTile);
    for (int jj = warp; jj < cnt; jj += kThreads / 32) {
      const T* krow = kc + physical_row(table, p.page_size, j0 + jj) * p.row_elems + kvh * d;
      float s = 0.0f;
      for (int64_t i = lane; i < d; i += 32) s += qs[i] * load(krow + i);
      s = warp_sum(s);
      if (p.softcap > 0.0f) s = p.softcap * tanhf(s / p.softcap);
      if (lane == 0) ps[jj] = s;
    }
    __syncthreads();
    const float tile_max = block_max(tid < cnt ? ps[tid] : -INFINITY, scratch);
    const float m_new = fmaxf(m, tile_max);
    const float corr = __expf(m - m_new);  // 0 on the first tile (m = -inf)
    if (tid < cnt) ps[tid] = __expf(ps[tid] - m_new);
    __syncthreads();
    float tile_sum = 0.0f;
    for (int jj = 0; jj < cnt; ++jj) tile_sum += ps[jj];
    l = l * corr + tile_sum;
    acc0 *= corr;
    acc1 *= corr;
    for (int jj = 0; jj < cnt; ++jj) {
      const T* vrow = vc + physical_row(table, p.page_size, j0 + jj) * p.row_elems + kvh * d;
      const float pj = ps[jj];
      if (tid < d) acc0 += pj * load(vrow + tid);
      if (tid + kThreads < d) acc1 += pj * load(vrow + tid + kThreads);
    }
    m = m_new;
    __syncthreads();
  }
  float* orow = out + (t * p.n_head + h) * d;
  if (tid < d) orow[tid] = acc0 / l;
  if (tid + kThreads < d) orow[tid + kThreads] = acc1 / l;
}

}  // namespace

void kv_store(const KvLayerDevice& kv, const float* k, const float* v, int64_t n,
              const int64_t* positions, cudaStream_t s) {
  const dim3 grid(static_cast<unsigned>((kv.row_elems + 255) / 256), static_cast<unsigned>(n));
  if (kv.f16) {
    kv_store_kernel<<<grid, 256, 0, s>>>(static_cast<__half*>(kv.k), static_cast<__half*>(kv.v),
                                         kv.block_table, kv.page_size, kv.row_elems, k, v,
                                         positions);
  } else {
    kv_store_kernel<<<grid, 256, 0, s>>>(static_cast<float*>(kv.k), static_cast<float*>(kv.v),
                                         kv.block_table, kv.page_size, kv.row_elems, k, v,
                                         positions);
  }
  MA_CUDA_CHECK_LAUNCH();
}

void attention(const KvLayerDevice& kv, const float* q, int64_t n, const int64_t* positions,
               const ref::AttentionShape& shape, float* out, cudaStream_t s) {
  if (shape.head_dim > kMaxHeadDim || shape.n_head % shape.n_head_kv != 0) {
    throw Error("CUDA attention supports head_dim up to " + std::to_string(kMaxHeadDim) +
                " and n_head a multiple of n_head_kv (got head_dim " +
                std::to_string(shape.head_dim) + ", " + std::to_string(shape.n_head) + " / " +
                std::to_string(shape.n_head_kv) + " heads)");
  }
  AttnParams p{shape.n_head,
               shape.n_head_kv,
               shape.head_dim,
               kv.row_elems,
               kv.page_size,
               shape.window,
               static_cast<float>(shape.scale),
               static_cast<float>(shape.softcap)};
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(shape.n_head));
  if (kv.f16) {
    attention_kernel<<<grid, kThreads, 0, s>>>(static_cast<const __half*>(kv.k),
                                               static_cast<const __half*>(kv.v), kv.block_table, q,
                                               positions, p, out);
  } else {
    attention_kernel<<<grid, kThreads, 0, s>>>(static_cast<const float*>(kv.k),
                                               static_cast<const float*>(kv.v), kv.block_table, q,
                                               positions, p, out);
  }
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace ma::cuda
