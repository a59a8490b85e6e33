// Flash attention on Hopper's warpgroup MMA (wgmma, sm_90a), FA3-style, for
// head dim 128 (included by flash_attention.cu; see flash_attention.h).
//
// A block of two warpgroups owns 128 query rows of one head, 64 per
// warpgroup, and walks 128-key tiles from the diagonal down. Per tile and
// warpgroup: S = Q K^T is wgmma m64n128k16 with Q and K from shared memory;
// the online softmax runs on the fp32 accumulators in registers; the
// weights, packed to 16 bits, are the A operand (registers) of
// O += P V, V from shared memory read N-major (transposed). The P V of one
// tile is issued together with the next tile's Q K^T, so the tensor cores
// run it while the softmax of the next tile runs; O is rescaled after.
// K and V tiles are double-buffered and come by cp.async, one tile ahead.
//
// Shared tiles use the 128-byte swizzle wgmma reads without bank conflicts:
// a tile of R rows x 128 columns is two blocks of 64 columns (128 bytes a
// row), and the 16-byte chunk c of row r sits at chunk c ^ (r % 8); blocks
// start 1024-byte aligned so the hardware's swizzle (address bits 4-6 xor
// 7-9) matches ours. The same bytes serve as K-major (Q, K: S's reduction
// runs along the head dim) and as N-major (V: O's runs along the keys).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backend/cuda/device_info.h"
#include "backend/cuda/flash_attention_common.cuh"

namespace ma::cuda {
namespace {

// Byte offset of element (r, c) in a swizzled tile of kRows rows.
template <int kRows>
__device__ __forceinline__ uint32_t swizzled(int r, int c) {
  return static_cast<uint32_t>((c >> 6) * kRows * 128 + r * 128 +
                               ((((c >> 3) & 7) ^ (r & 7)) << 4) + (c & 7) * 2);
}

// Shared memory matrix descriptor: start address, leading and stride byte
// offsets (each >> 4, 14 bits), 128-byte swizzle in bits 62-63.
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t leading, uint32_t stride) {
  return static_cast<uint64_t>((addr >> 4) & 0x3fff) |
         static_cast<uint64_t>((leading >> 4) & 0x3fff) << 16 |
         static_cast<uint64_t>((stride >> 4) & 0x3fff) << 32 | uint64_t{1} << 62;
}

// The 64 fp32 accumulators of a thread's share of an m64n128 tile: d[4 j + e]
// is row 16 * warp + lane / 4 + 8 * (e / 2), column 8 j + 2 * (lane % 4) + e % 2.
#define MA_WGMMA_ACC                                                                            \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "  \
  "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "  \
  "%56, %57, %58, %59, %60, %61, %62, %63}"
#define MA_WGMMA_ACC_OPERANDS(C, d)                                                             \
  C(d[0]), C(d[1]), C(d[2]), C(d[3]), C(d[4]), C(d[5]), C(d[6]), C(d[7]), C(d[8]), C(d[9]),     \
      C(d[10]), C(d[11]), C(d[12]), C(d[13]), C(d[14]), C(d[15]), C(d[16]), C(d[17]), C(d[18]), \
      C(d[19]), C(d[20]), C(d[21]), C(d[22]), C(d[23]), C(d[24]), C(d[25]), C(d[26]), C(d[27]), \
      C(d[28]), C(d[29]), C(d[30]), C(d[31]), C(d[32]), C(d[33]), C(d[34]), C(d[35]), C(d[36]), \
      C(d[37]), C(d[38]), C(d[39]), C(d[40]), C(d[41]), C(d[42]), C(d[43]), C(d[44]), C(d[45]), \
      C(d[46]), C(d[47]), C(d[48]), C(d[49]), C(d[50]), C(d[51]), C(d[52]), C(d[53]), C(d[54]), \
      C(d[55]), C(d[56]), C(d[57]), C(d[58]), C(d[59]), C(d[60]), C(d[61]), C(d[62]), C(d[63])

// d = A B^T (kAccumulate: d += A B^T), A and B K-major in shared memory
// (descriptors a, b). Without accumulation d is output only, so the
// compiler sees no register the wgmma would read.
#define MA_WGMMA_SS(TYPE, C, SCALE_D)                                                        \
  asm volatile("wgmma.mma_async.sync.aligned.m64n128k16.f32." TYPE "." TYPE " " MA_WGMMA_ACC \
               ", %64, %65, " SCALE_D ", 1, 1, 0, 0;\n"                                      \
               : MA_WGMMA_ACC_OPERANDS(C, d)                                                 \
               : "l"(a), "l"(b))
// d += A B, A in registers (the m16n8k16 A layout per warp), B N-major in
// shared memory (transposed).
#define MA_WGMMA_RS(TYPE)                                                                    \
  asm volatile("wgmma.mma_async.sync.aligned.m64n128k16.f32." TYPE "." TYPE " " MA_WGMMA_ACC \
               ", {%64, %65, %66, %67}, %68, 1, 1, 1, 1;\n"                                  \
               : MA_WGMMA_ACC_OPERANDS("+f", d)                                              \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b))

template <typename T, bool kAccumulate>
__device__ __forceinline__ void wgmma_ss(float (&d)[64], uint64_t a, uint64_t b) {
  constexpr bool kHalf = std::is_same_v<T, __half>;
  if constexpr (kHalf && kAccumulate) {
    MA_WGMMA_SS("f16", "+f", "1");
  } else if constexpr (kHalf) {
    MA_WGMMA_SS("f16", "=f", "0");
  } else if constexpr (kAccumulate) {
    MA_WGMMA_SS("bf16", "+f", "1");
  } else {
    MA_WGMMA_SS("bf16", "=f", "0");
  }
}
template <typename T>
__device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t* a, uint64_t b) {
  if constexpr (std::is_same_v<T, __half>) {
    MA_WGMMA_RS("f16");
  } else {
    MA_WGMMA_RS("bf16");
  }
}
#undef MA_WGMMA_RS
#undef MA_WGMMA_SS
#undef MA_WGMMA_ACC_OPERANDS
#undef MA_WGMMA_ACC

// Orders the warpgroup's earlier register writes (accumulators, A
// fragments) before the wgmmas that follow.
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Waits until at most kPending committed groups are in flight.
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// Ties registers to this point for the compiler: after a wait, no read of
// an accumulator moves above it and an A operand's registers stay untouched
// until then; before a fence, the writes of o and the weights land above it.
template <int kN>
__device__ __forceinline__ void pin(float (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int kN>
__device__ __forceinline__ void pin(uint32_t (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+r"(r[i])::"memory");
}
// Generic-proxy writes (cp.async, stores) made visible to wgmma's async proxy.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// The one shape: head dim 128, 128-key tiles, two consumer warpgroups of
// 64 query rows, one block per multiprocessor (Q plus two K and two V
// tiles: 160 KiB of shared memory; up to 255 registers a thread).
template <typename Elem>
struct WgmmaConfig {
  using T = Elem;
  static constexpr int kHeadDim = 128, kKeyTile = 128, kWarpgroups = 2;
  static constexpr int kThreads = 128 * kWarpgroups, kQueryTile = 64 * kWarpgroups;
  static constexpr uint32_t kQBytes = kQueryTile * kHeadDim * 2;
  static constexpr uint32_t kTileBytes = kKeyTile * kHeadDim * 2;
  static constexpr size_t kSmemBytes = kQBytes + 4 * kTileBytes + 1024;  // + 1024: alignment
};

// Keys [j0, j0 + kKeys) of one KV head into a swizzled tile at dst; keys
// past last_key read as zeros.
template <int kKeys, int kThreads, typename T, typename RowFn>
__device__ __forceinline__ void load_swizzled_tile(unsigned char* dst, int j0, int last_key,
                                                   RowFn row) {
  constexpr int kChunks = 128 / 8;
  static_assert(kKeys * kChunks % kThreads == 0);
#pragma unroll
  for (int i = 0; i < kKeys * kChunks / kThreads; ++i) {
    const int e = static_cast<int>(threadIdx.x) + i * kThreads;
    const int r = e / kChunks, c = (e % kChunks) * 8;
    const bool valid = j0 + r <= last_key;
    const T* src = row(valid ? j0 + r : last_key) + c;
    cp_async_16(dst + swizzled<kKeys>(r, c), src, valid);
  }
}

// Soft-cap and mask the scores s of keys [j0, j0 + 128), update the running
// max and sum, turn s into the tile's weights packed in pw (A fragments of
// the 8 k-steps of P V), set the factors o must be scaled by in corr and
// return whether any row of the warp needs it.
template <typename T>
__device__ __forceinline__ bool wgmma_softmax(float (&s)[64], uint32_t (&pw)[32],
                                              float (&row_max)[2], float (&row_sum)[2],
                                              float (&corr)[2], const int (&row_pos)[2], int j0,
                                              bool masked, const FlashParams& p, int lane) {
  if (p.softcap > 0) {
#pragma unroll
    for (int i = 0; i < 64; ++i) s[i] = p.softcap * tanhf(s[i] * p.cap_in);
  }
  if (masked) {
#pragma unroll
    for (int i = 0; i < 64; ++i) {
      const int key = j0 + (i >> 2) * 8 + 2 * (lane & 3) + (i & 1), rp = row_pos[(i >> 1) & 1];
      if (key > rp || (p.window > 0 && key <= rp - p.window)) s[i] = -INFINITY;
    }
  }
  bool rescale = false;
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    float mx = row_max[hr];
#pragma unroll
    for (int j = 0; j < 16; ++j) mx = fmaxf(mx, fmaxf(s[4 * j + 2 * hr], s[4 * j + 2 * hr + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    // Scaled inside the exponent (one FFMA); a row with nothing visible yet
    // keeps -inf and adds nothing.
    const float es = p.exp_scale, base = mx == -INFINITY ? 0.0f : mx * es;
    corr[hr] = fast_exp2(row_max[hr] * es - base);
    rescale |= corr[hr] != 1.0f;
    row_max[hr] = mx;
    float sum = 0;
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      float& a = s[4 * j + 2 * hr];
      float& b = s[4 * j + 2 * hr + 1];
      a = fast_exp2(fmaf(a, es, -base));
      b = fast_exp2(fmaf(b, es, -base));
      sum += a + b;
    }
    row_sum[hr] = row_sum[hr] * corr[hr] + sum;  // this lane's part of the row
  }
  // The accumulator pairs (keys 2 t, 2 t + 1 of a row) are the A fragment's.
#pragma unroll
  for (int i = 0; i < 32; ++i) pw[i] = pack2<T>(s[2 * i], s[2 * i + 1]);
  // Walking keys down from the diagonal the max seldom moves after the
  // first tile: the caller skips the rescale when no row of the warp moved.
  return __any_sync(0xffffffffu, rescale);
}

template <typename C, typename Io>
__global__ void __launch_bounds__(C::kThreads, 1)
    flash_attention_wgmma_kernel(const Io io, const FlashParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using T = typename C::T;
  constexpr int kKeyTile = C::kKeyTile, kQueryTile = C::kQueryTile;
  extern __shared__ unsigned char smem_raw[];
  // Swizzled tiles start 1024-byte aligned (kSmemBytes has the slack).
  unsigned char* smem = smem_raw + ((1024 - smem_addr(smem_raw) % 1024) % 1024);
  unsigned char* qs = smem;
  auto ks = [&](int t) { return smem + C::kQBytes + (t & 1) * C::kTileBytes; };
  auto vs = [&](int t) { return smem + C::kQBytes + (2 + (t & 1)) * C::kTileBytes; };

  const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) & 3, wg = threadIdx.x >> 7;
  const int64_t h = blockIdx.y, kvh = h / p.group;
  // Causal tiles late in the sequence do the most work: start them first.
  const int q0 = static_cast<int>(gridDim.x - 1 - blockIdx.x) * kQueryTile;
  const int q_last = (q0 + kQueryTile < p.n ? q0 + kQueryTile : p.n) - 1;
  const int first_pos = static_cast<int>(io.pos(q0)), last_pos = static_cast<int>(io.pos(q_last));
  int lo = p.window > 0 ? first_pos - p.window + 1 : 0;
  if (lo < 0) lo = 0;
  const int n_tiles = (last_pos - lo) / kKeyTile + 1;
  auto load_k = [&](int t) {
    load_swizzled_tile<kKeyTile, C::kThreads, T>(ks(t), lo + t * kKeyTile, last_pos,
                                                 [&](int key) { return io.k_row(key, kvh); });
  };
  auto load_v = [&](int t) {
    load_swizzled_tile<kKeyTile, C::kThreads, T>(vs(t), lo + t * kKeyTile, last_pos,
                                                 [&](int key) { return io.v_row(key, kvh); });
  };

  // This warpgroup's rows; rows past the last query take its position
  // (computed, never stored). A tile needs masks only where it crosses the
  // diagonal, the window's edge or the last key for some row of the group.
  const int wq0 = q0 + 64 * wg;
  const int wg_first = static_cast<int>(io.pos(wq0 <= q_last ? wq0 : q_last));
  const int wg_last = static_cast<int>(io.pos(wq0 + 63 <= q_last ? wq0 + 63 : q_last));
  auto masked = [&](int j0) {
    return j0 + kKeyTile - 1 > wg_first || (p.window > 0 && j0 <= wg_last - p.window);
  };
  int row_pos[2];
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    const int qi = wq0 + 16 * warp + (lane >> 2) + 8 * hr;
    row_pos[hr] = static_cast<int>(io.pos(qi <= q_last ? qi : q_last));
  }

  io.template load_q<kQueryTile, C::kThreads>(
      [&](int r, int c) { return reinterpret_cast<T*>(qs + swizzled<kQueryTile>(r, c)); }, q0, p.n,
      h);
  load_k(n_tiles - 1);
  cp_async_commit();

  // Descriptors: K-major Q and K (stride 1024 bytes between 8-row groups;
  // the k-step's 32 bytes are added inside the swizzled row), N-major V
  // (leading 128 * 128 bytes between the two 64-column blocks).
  const uint32_t q_wg = smem_addr(qs) + wg * 64 * 128;
  auto scores = [&](float(&s)[64], int t) {
    const uint32_t k_base = smem_addr(ks(t));
#pragma unroll
    for (int kc = 0; kc < 8; ++kc) {
      const uint32_t off = (kc & 3) * 32;
      const uint64_t a = smem_desc(q_wg + (kc >> 2) * kQueryTile * 128 + off, 16, 1024);
      const uint64_t b = smem_desc(k_base + (kc >> 2) * kKeyTile * 128 + off, 16, 1024);
      if (kc == 0) {
        wgmma_ss<T, false>(s, a, b);
      } else {
        wgmma_ss<T, true>(s, a, b);
      }
    }
    wgmma_commit();
  };
  auto accumulate = [&](float(&o)[64], const uint32_t(&pw)[32], const unsigned char* v) {
    const uint32_t v_base = smem_addr(v);
#pragma unroll
    for (int kc = 0; kc < 8; ++kc) {
      wgmma_rs<T>(o, pw + 4 * kc, smem_desc(v_base + kc * 16 * 128, kKeyTile * 128, 1024));
    }
    wgmma_commit();
  };

  float o[64], s[64], row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0, 0}, corr[2];
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0;
  uint32_t pw[32];  // the weights of the tile whose P V is pending

  // K of tile t and V of tile t + 1 landed; every warpgroup is done with
  // the buffers the next copies overwrite (K of t + 1, V of t + 2).
  auto next_tile = [&](int t) {
    cp_async_wait_all();
    fence_proxy_async();
    __syncthreads();
    if (t > 0) load_k(t - 1);
    if (t >= 0) load_v(t);
    cp_async_commit();
  };
  auto softmax = [&](uint32_t(&w)[32], int t) {
    const int j0 = lo + t * kKeyTile;
    return wgmma_softmax<T>(s, w, row_max, row_sum, corr, row_pos, j0, masked(j0), p, lane);
  };

  // Every iteration issues the same wgmmas (no branch may separate a
  // wgmma's issue from its wait: the compiler could put register moves of
  // the in-flight accumulators there). The first one's P V has zero
  // weights and reads the K tile (finite data) while the softmax runs.
#pragma unroll
  for (int i = 0; i < 32; ++i) pw[i] = 0;
  for (int t = n_tiles - 1; t >= 0; --t) {
    next_tile(t);
    pin(o);  // the rescale and the copy to pw happen before the fence
    pin(pw);
    wgmma_fence();
    scores(s, t);
    accumulate(o, pw, t + 1 < n_tiles ? vs(t + 1) : ks(t));
    wgmma_wait<1>();  // S done; the tensor cores run P V during the softmax
    pin(s);
    uint32_t pw_next[32];
    const bool rescale = softmax(pw_next, t);
    wgmma_wait<0>();
    pin(o);
    pin(pw);
    if (rescale) {
#pragma unroll
      for (int i = 0; i < 64; ++i) o[i] *= corr[(i >> 1) & 1];
    }
#pragma unroll
    for (int i = 0; i < 32; ++i) pw[i] = pw_next[i];
  }
  next_tile(-1);  // V of tile 0
  pin(o);
  pin(pw);
  wgmma_fence();
  accumulate(o, pw, vs(0));
  wgmma_wait<0>();
  pin(o);
  pin(pw);

#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    float sum = row_sum[hr];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = 1.0f / sum;
    const int qi = wq0 + 16 * warp + (lane >> 2) + 8 * hr;
    if (qi > q_last) continue;
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      io.store(qi, h, 8 * j + 2 * (lane & 3), o[4 * j + 2 * hr] * inv, o[4 * j + 2 * hr + 1] * inv);
    }
  }
#else
  // Built without sm_90a: the host side never launches it (wgmma_supported).
  (void)io;
  (void)p;
  __trap();
#endif
}

// Whether the build has the sm_90a kernel and the current device runs it
// (compute capability 9.0).
bool wgmma_supported() {
#ifdef MA_CUDA_SM90A
  return device_info().major == 9 && device_info().minor == 0;
#else
  return false;
#endif
}

template <typename C, typename Io>
void launch_wgmma(const Io& io, const FlashParams& p, int64_t n_head, cudaStream_t s) {
  launch_query_tiles<C>(flash_attention_wgmma_kernel<C, Io>, io, p, n_head, s);
}

}  // namespace
}  // namespace ma::cuda
