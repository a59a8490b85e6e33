// What both flash attention kernels share (flash_attention.cu includes it
// before the mma.sync kernel and flash_attention_wgmma.cuh): the parameters,
// cp.async and conversion helpers, and the two ways in (the paged engine
// cache, contiguous bf16 for the benchmark).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/cuda_check.h"

namespace ma::cuda {
namespace {

constexpr float kLog2e = 1.4426950408889634f;

struct FlashParams {
  int n = 0;          // queries (positions fit 32 bits)
  int64_t group = 1;  // query heads per KV head
  int window = 0;
  float softcap = 0;    // > 0: scores are cap * tanh(scale * s / cap)
  float cap_in = 0;     // scale / cap
  float exp_scale = 0;  // scores to base-2 logits: scale (or 1 after the cap) * log2(e)
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared; src_bytes 0 fills zeros (keys past the end).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
  } else {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
  }
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// --- The two ways in: where queries, keys and values live, where out goes.

// The engine: float q [n x n_head x d] at positions[], f16 pages, float out.
template <int kHeadDim>
struct PagedIo {
  using T = __half;
  const float* q;
  const __half* k;
  const __half* v;
  const int32_t* table;
  const int64_t* positions;
  float* out;
  int64_t n_head, row_elems;
  int32_t page_size;

  __device__ int64_t pos(int64_t i) const { return positions[i]; }
  __device__ int64_t row_offset(int64_t key, int64_t kvh) const {
    const int32_t kp = static_cast<int32_t>(key);
    const int64_t phys = static_cast<int64_t>(table[kp / page_size]) * page_size + kp % page_size;
    return phys * row_elems + kvh * kHeadDim;
  }
  __device__ const __half* k_row(int64_t key, int64_t kvh) const {
    return k + row_offset(key, kvh);
  }
  __device__ const __half* v_row(int64_t key, int64_t kvh) const {
    return v + row_offset(key, kvh);
  }
  // Row r of the tile (query q0 + r) into shared memory as f16 at dst(r, c)
  // (4 elements from column c); zeros past n.
  template <int kRows, int kThreads, typename Dst>
  __device__ void load_q(Dst dst, int64_t q0, int64_t n, int64_t h) const {
    constexpr int kQuads = kHeadDim / 4;
    for (int e = threadIdx.x; e < kRows * kQuads; e += kThreads) {
      const int r = e / kQuads, c = (e % kQuads) * 4;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (q0 + r < n)
        x = *reinterpret_cast<const float4*>(q + ((q0 + r) * n_head + h) * kHeadDim + c);
      __half2* d = reinterpret_cast<__half2*>(dst(r, c));
      d[0] = __floats2half2_rn(x.x, x.y);
      d[1] = __floats2half2_rn(x.z, x.w);
    }
  }
  __device__ void store(int64_t qi, int64_t h, int dim, float a, float b) const {
    *reinterpret_cast<float2*>(out + (qi * n_head + h) * kHeadDim + dim) = make_float2(a, b);
  }
};

// The benchmark: contiguous bf16 [heads x n x d], query i at position i.
template <int kHeadDim>
struct DenseIo {
  using T = __nv_bfloat16;
  const __nv_bfloat16* q;
  const __nv_bfloat16* k;
  const __nv_bfloat16* v;
  __nv_bfloat16* out;
  int64_t n;

  __device__ int64_t pos(int64_t i) const { return i; }
  __device__ const T* k_row(int64_t key, int64_t kvh) const {
    return k + (kvh * n + key) * kHeadDim;
  }
  __device__ const T* v_row(int64_t key, int64_t kvh) const {
    return v + (kvh * n + key) * kHeadDim;
  }
  // By cp.async, 8 elements from column c to dst(r, c); zeros past n_q.
  template <int kRows, int kThreads, typename Dst>
  __device__ void load_q(Dst dst, int64_t q0, int64_t n_q, int64_t h) const {
    constexpr int kChunks = kHeadDim / 8;
    for (int e = threadIdx.x; e < kRows * kChunks; e += kThreads) {
      const int r = e / kChunks, c = (e % kChunks) * 8;
      const bool valid = q0 + r < n_q;
      cp_async_16(dst(r, c), q + ((h * n + (valid ? q0 + r : 0)) * kHeadDim + c), valid);
    }
  }
  __device__ void store(int64_t qi, int64_t h, int dim, float a, float b) const {
    *reinterpret_cast<__nv_bfloat162*>(out + (h * n + qi) * kHeadDim + dim) =
        __floats2bfloat162_rn(a, b);
  }
};

// Launches a flash kernel of configuration C (kQueryTile, kThreads,
// kSmemBytes) over query tiles x heads; opts in to more than 48 KiB of
// shared memory once per instantiation.
template <typename C, typename Io>
void launch_query_tiles(void (*kernel)(Io, FlashParams), const Io& io, const FlashParams& p,
                        int64_t n_head, cudaStream_t s) {
  static_assert(std::is_same_v<typename C::T, typename Io::T>);
  static bool configured = false;
  if (!configured) {
    MA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(C::kSmemBytes)));
    configured = true;
  }
  const dim3 grid(static_cast<unsigned>((p.n + C::kQueryTile - 1) / C::kQueryTile),
                  static_cast<unsigned>(n_head));
  kernel<<<grid, C::kThreads, C::kSmemBytes, s>>>(io, p);
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace
}  // namespace ma::cuda
