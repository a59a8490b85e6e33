// The paged KV cache on the device: storing rows, and causal attention that
// reads the pages through the block table (GQA by index, no copies of K/V).
// Decode: one thread block per (query token, head, key range) with an online
// softmax, the ranges merged by the last block; specialised kernels per head
// dim read rows with 16-byte loads, a generic one takes other shapes.
#include <iterator>
#include <type_traits>
#include <utility>

#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/flash_attention.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"
#include "core/error.h"

namespace ma::cuda {
namespace {

constexpr int kThreads = 128;  // 4 warps; also the key tile
constexpr int kTile = kThreads;
constexpr int kMaxHeadDim = 2 * kThreads;
// Decode over a cache of more than kSplitMinChunk positions is split into
// at most kMaxSplits key ranges of at least kSplitMinChunk: a step reads
// each key range on its own block, so the latency of a long cache spreads
// over the card.
constexpr int64_t kSplitMinChunk = 64;
constexpr int64_t kMaxSplits = 32;

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
__global__ void kv_store_kernel(T* kc, T* vc, const int32_t* table, int64_t page_size,
                                int64_t row_elems, const float* k, const float* v,
                                const int64_t* positions) {
  const int64_t t = blockIdx.y;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= row_elems) return;
  const int64_t dst = physical_row(table, page_size, positions[t]) * row_elems + i;
  store_as(kc + dst, k[t * row_elems + i]);
  store_as(vc + dst, v[t * row_elems + i]);
}

struct AttnParams {
  int64_t n_head, n_head_kv, head_dim, row_elems, page_size, window;
  float scale, softcap;
};

// Decode split over the keys: block (t, h, split) takes the keys of
// [split * chunk, (split + 1) * chunk) that query t sees. The block of the
// last split holding any (the one with the step's own key, the last to be
// ready) merges: the others leave their unnormalised output, running max
// and sum in `partial` as words of a float and a flag (one 8-byte store
// each, so the merging block, polling the words, needs no fence or counter
// to know them written) and end; it zeroes the words it read for the next
// step. It waits only on blocks of lower splits, scheduled before it. The
// split count comes from the cache's capacity, not the position, so a
// recorded decode step keeps its grid; splits holding none of the keys end
// at once, and when one split holds them all it writes the output itself.
// (On the H100 the fence, counter and reads of the last block to finish
// had cost tg128 1.5%: 7B Q4_0 552-557 t/s, 561-566 without any merge;
// with this one 565-566.)
struct SplitParams {
  int64_t chunk = 0;  // keys per split; 0: one block per (t, h), no partials
  int n_splits = 1;
  uint64_t* partial = nullptr;  // [n x n_head x n_splits x (d + 2)], zero when not written
  Q8Out q8;                     // the output's int8 copy too (d a multiple of 32)
};

// A partial's word: the float's bits and, above them, 1 (written).
__device__ __forceinline__ void store_flagged(uint64_t* p, float v) {
  const uint64_t word = (uint64_t{1} << 32) | __float_as_uint(v);
  asm volatile("st.relaxed.gpu.global.b64 [%0], %1;" ::"l"(p), "l"(word) : "memory");
}

__device__ __forceinline__ uint64_t load_flagged(const uint64_t* p) {
  uint64_t word;
  asm volatile("ld.relaxed.gpu.global.b64 %0, [%1];" : "=l"(word) : "l"(p) : "memory");
  return word;
}

__device__ __forceinline__ float flagged_value(uint64_t word) {
  return __uint_as_float(static_cast<uint32_t>(word));
}

// Writes dims tid + kThreads * k of the output row th (r[k] / div) and,
// when asked, their int8 copy: with d a multiple of 32 each warp's dims of
// one k are one whole 32-block.
template <int kPer>
__device__ __forceinline__ void store_decode_row(const float (&r)[kPer], float div, int64_t d,
                                                 int64_t th, const Q8Out& q8, float* orow) {
  const int tid = static_cast<int>(threadIdx.x);
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int64_t i = tid + kThreads * k;
    if (i >= d) continue;
    const float v = r[k] / div;
    orow[i] = v;
    if (q8.q != nullptr) quantize_warp(v, th * d + (i & ~int64_t{31}), q8);
  }
}

// The keys [lo, hi] a decode block reads: those query t (at pos) sees, of
// its split's range; splits [first, last] hold any of them.
struct DecodeKeys {
  int64_t lo, hi, first = 0, last = 0;
};

__device__ __forceinline__ DecodeKeys decode_keys(int64_t pos, int64_t split, const AttnParams& p,
                                                  const SplitParams& sp) {
  DecodeKeys k;
  k.lo = p.window > 0 && pos - p.window + 1 > 0 ? pos - p.window + 1 : 0;
  k.hi = pos;
  if (sp.chunk > 0) {
    k.first = k.lo / sp.chunk;
    k.last = k.hi / sp.chunk;
    k.lo = k.lo > split * sp.chunk ? k.lo : split * sp.chunk;
    k.hi = k.hi < (split + 1) * sp.chunk - 1 ? k.hi : (split + 1) * sp.chunk - 1;
  }
  return k;
}

// Ends a decode block holding o[k] of dims tid + kThreads * k (its keys'
// unnormalised sum), running max m and sum l: writes the output, or, with
// other splits holding keys too, its partial, or (the last of them) merges
// theirs into its own (SplitParams).
template <int kPer>
__device__ void finish_decode(const float (&o)[kPer], float m, float l, int64_t d, int64_t th,
                              int64_t split, const DecodeKeys& keys, const SplitParams& sp,
                              float* orow) {
  const int tid = static_cast<int>(threadIdx.x);
  if (sp.chunk == 0 || keys.first == keys.last) {
    store_decode_row(o, l, d, th, sp.q8, orow);
    return;
  }
  uint64_t* parts = sp.partial + th * sp.n_splits * (d + 2);
  if (split != keys.last) {
    uint64_t* ps = parts + split * (d + 2);
    if (tid == 0) {
      store_flagged(ps, m);
      store_flagged(ps + 1, l);
    }
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      if (tid + kThreads * k < d) store_flagged(ps + 2 + tid + kThreads * k, o[k]);
    }
    return;
  }
  // Each thread polls the words it reads (a split's max and sum, its
  // dims), kBatch splits' loaded at once, until every one is written; then
  // merges them into its own.
  constexpr int kBatch = 4;
  float r[kPer];
#pragma unroll
  for (int k = 0; k < kPer; ++k) r[k] = o[k];
  float big = m, sum = l;
  for (int64_t s0 = keys.first; s0 < keys.last; s0 += kBatch) {
    const int64_t left = keys.last - s0;
    uint64_t mw[kBatch], lw[kBatch], ow[kBatch][kPer];
    bool ready;
    do {
      ready = true;
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        if (b >= left) break;
        const uint64_t* ps = parts + (s0 + b) * (d + 2);
        mw[b] = load_flagged(ps);
        lw[b] = load_flagged(ps + 1);
        ready = ready && ((mw[b] & lw[b]) >> 32) != 0;
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
          const bool mine = tid + kThreads * k < d;
          ow[b][k] = mine ? load_flagged(ps + 2 + tid + kThreads * k) : ~uint64_t{0};
          ready = ready && (ow[b][k] >> 32) != 0;
        }
      }
    } while (!ready);
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      if (b >= left) break;
      const float ms = flagged_value(mw[b]), ls = flagged_value(lw[b]);
      if (ls == 0.0f) continue;  // a split without keys
      const float top = fmaxf(big, ms), keep = __expf(big - top), w = __expf(ms - top);
      big = top;
      sum = sum * keep + ls * w;
#pragma unroll
      for (int k = 0; k < kPer; ++k) r[k] = r[k] * keep + w * flagged_value(ow[b][k]);
    }
  }
  store_decode_row(r, sum, d, th, sp.q8, orow);
  // Every thread has read the maxima and sums: the words go back to zero.
  __syncthreads();
  for (int64_t s = keys.first; s < keys.last; ++s) {
    uint64_t* ps = parts + s * (d + 2);
    for (int64_t i = tid; i < d + 2; i += kThreads) ps[i] = 0;
  }
}

template <typename T>
__global__ void attention_kernel(const T* kc, const T* vc, const int32_t* table, const float* q,
                                 const int64_t* positions, AttnParams p, SplitParams sp,
                                 float* out) {
  __shared__ float qs[kMaxHeadDim];
  __shared__ float ps[kTile];
  __shared__ float scratch[32];
  pdl_start();
  const int64_t t = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
  const DecodeKeys keys = decode_keys(positions[t], split, p, sp);
  if (split < keys.first || split > keys.last) return;
  const int64_t lo = keys.lo, hi = keys.hi;
  const int64_t kvh = h / (p.n_head / p.n_head_kv);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t d = p.head_dim;
  const float* qrow = q + (t * p.n_head + h) * d;
  for (int64_t i = tid; i < d; i += kThreads) qs[i] = qrow[i] * p.scale;
  __syncthreads();

  float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
  for (int64_t j0 = lo; j0 <= hi; j0 += kTile) {
    const int cnt = static_cast<int>(hi - j0 + 1 < kTile ? hi - j0 + 1 : kTile);
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
  const float o[2] = {acc0, acc1};
  finish_decode(o, m, l, d, t * p.n_head + h, split, keys, sp, out + (t * p.n_head + h) * d);
}

// Decode over head dims of 32 to 256 (a template parameter): every key and
// value row is read with 16-byte loads, L = kD / (16 / sizeof(T)) lanes per
// row, so a warp covers 32 / L rows per step and each lane keeps kSteps
// loads in flight. Same split and merge as attention_kernel.
template <typename T, int kD>
struct DecodeShape {
  static constexpr int kPerLoad = 16 / static_cast<int>(sizeof(T));  // elements per load
  static constexpr int kLanes = kD / kPerLoad;                       // lanes per row
  static constexpr int kRowsPerWarp = 32 / kLanes;
  static constexpr int kWarps = kThreads / 32;
  // Loads in flight per lane; a tile's scores fit one per thread.
  static constexpr int kSteps =
      kThreads / (kWarps * kRowsPerWarp) < 8 ? kThreads / (kWarps * kRowsPerWarp) : 8;
  static constexpr int kTileKeys = kWarps * kRowsPerWarp * kSteps;
  static_assert(kLanes <= 32 && 32 % kLanes == 0 && kTileKeys <= kThreads);
};

__device__ __forceinline__ void unpack16(const uint4& v, float (&out)[8]) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}
__device__ __forceinline__ void unpack16(const uint4& v, float (&out)[4]) {
  out[0] = __uint_as_float(v.x);
  out[1] = __uint_as_float(v.y);
  out[2] = __uint_as_float(v.z);
  out[3] = __uint_as_float(v.w);
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads)
    attention_decode_kernel(const T* kc, const T* vc, const int32_t* table, const float* q,
                            const int64_t* positions, AttnParams p, SplitParams sp, float* out) {
  using S = DecodeShape<T, kD>;
  constexpr int E = S::kPerLoad, L = S::kLanes;
  __shared__ float ps[S::kTileKeys];
  __shared__ float red[S::kWarps][kD];
  __shared__ float scratch[32];
  const int64_t t = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
  // The position, the block table and the cache rows of earlier positions
  // were written before the launch this one waits on (the q/k/v products
  // with the KV store). With one query token they are read before the
  // wait, and only q and the row of this step's position after it (on the
  // H100, 7B Q4_0 decode 517 -> 547 t/s); a batch's rows are all read
  // after it.
  const int64_t pos = positions[t];
  const bool ahead = gridDim.x == 1;
  const DecodeKeys keys = decode_keys(pos, split, p, sp);
  if (split < keys.first || split > keys.last) {
    pdl_start();
    return;
  }
  const int64_t lo = keys.lo, hi = keys.hi;
  const int64_t kvh = h / (p.n_head / p.n_head_kv);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int part = lane % L;  // which 16 bytes of a row
  const int sub = lane / L;   // which row of the warp's step
  const int64_t col = kvh * kD + part * E;
  auto row_ptr = [&](const T* base, int64_t j) {
    return reinterpret_cast<const uint4*>(base + physical_row(table, p.page_size, j) * p.row_elems +
                                          col);
  };
  // A tile's key and value rows (the value rows do not depend on the
  // scores: both in flight at once): all, all but this step's, or only it.
  uint4 rows[S::kSteps], vrows[S::kSteps];
  auto load_tile = [&](int64_t j0, int cnt, bool skip_current, bool only_current) {
#pragma unroll
    for (int st = 0; st < S::kSteps; ++st) {
      const int jj = (st * S::kWarps + warp) * S::kRowsPerWarp + sub;
      const bool current = j0 + jj == pos;
      if (jj < cnt && !(skip_current && current) && (!only_current || current)) {
        rows[st] = __ldg(row_ptr(kc, j0 + jj));
        vrows[st] = __ldg(row_ptr(vc, j0 + jj));
      }
    }
  };
  auto tile_keys = [&](int64_t j0) {
    return static_cast<int>(hi - j0 + 1 < S::kTileKeys ? hi - j0 + 1 : S::kTileKeys);
  };
  if (ahead) load_tile(lo, tile_keys(lo), true, false);
  pdl_start();
  load_tile(lo, tile_keys(lo), false, ahead);
  float qv[E];
  {
    const float* qrow = q + (t * p.n_head + h) * kD + part * E;
#pragma unroll
    for (int e = 0; e < E; ++e) qv[e] = qrow[e] * p.scale;
  }
  float m = -INFINITY, l_part = 0.0f, acc[E] = {};
  for (int64_t j0 = lo; j0 <= hi; j0 += S::kTileKeys) {
    const int cnt = tile_keys(j0);
    if (j0 != lo) load_tile(j0, cnt, false, false);
#pragma unroll
    for (int st = 0; st < S::kSteps; ++st) {
      const int jj = (st * S::kWarps + warp) * S::kRowsPerWarp + sub;
      float kf[E];
      unpack16(rows[st], kf);
      float s = 0.0f;
#pragma unroll
      for (int e = 0; e < E; ++e) s += qv[e] * kf[e];
#pragma unroll
      for (int o = L / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (p.softcap > 0.0f) s = p.softcap * tanhf(s / p.softcap);
      if (part == 0 && jj < cnt) ps[jj] = s;
    }
    __syncthreads();
    const float tile_max = block_max(tid < cnt ? ps[tid] : -INFINITY, scratch);
    const float m_new = fmaxf(m, tile_max);
    const float corr = __expf(m - m_new);  // 0 on the first tile (m = -inf)
    m = m_new;
    l_part *= corr;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[e] *= corr;
#pragma unroll
    for (int st = 0; st < S::kSteps; ++st) {
      const int jj = (st * S::kWarps + warp) * S::kRowsPerWarp + sub;
      if (jj < cnt) {
        const float pj = __expf(ps[jj] - m_new);
        if (part == 0) l_part += pj;
        float vf[E];
        unpack16(vrows[st], vf);
#pragma unroll
        for (int e = 0; e < E; ++e) acc[e] += pj * vf[e];
      }
    }
    __syncthreads();  // ps is rewritten by the next tile
  }
  // Sum the rows' shares: over the warp's row groups, then over warps.
#pragma unroll
  for (int e = 0; e < E; ++e) {
#pragma unroll
    for (int o = L; o < 32; o <<= 1) acc[e] += __shfl_xor_sync(0xffffffffu, acc[e], o);
  }
  if (sub == 0) {
#pragma unroll
    for (int e = 0; e < E; ++e) red[warp][part * E + e] = acc[e];
  }
  const float l = block_sum(l_part, scratch);  // syncs the block, so red is complete
  // Thread tid owns dims tid + kThreads * k.
  constexpr int kDimsPerThread = (kD + kThreads - 1) / kThreads;
  float o[kDimsPerThread] = {};
#pragma unroll
  for (int k = 0; k < kDimsPerThread; ++k) {
    const int i = tid + kThreads * k;
    if (i < kD) {
#pragma unroll
      for (int w = 0; w < S::kWarps; ++w) o[k] += red[w][i];
    }
  }
  finish_decode(o, m, l, kD, t * p.n_head + h, split, keys, sp, out + (t * p.n_head + h) * kD);
}

template <typename T, int kD>
void launch_decode_kernel(const KvLayerDevice& kv, dim3 grid, const float* q,
                          const int64_t* positions, const AttnParams& p, const SplitParams& sp,
                          float* out, cudaStream_t s) {
  launch(attention_decode_kernel<T, kD>, grid, dim3(kThreads), 0, s, static_cast<const T*>(kv.k),
         static_cast<const T*>(kv.v), kv.block_table, q, positions, p, sp, out);
}

// The instantiated decode kernels: head dims 32, 64, 128 and 256 for F16
// and F32 caches, except where a row needs more than a warp's 16-byte
// loads (F32 at 256: the generic kernel). Other shapes take
// attention_kernel.
constexpr int kDecodeHeadDims[] = {32, 64, 128, 256};

template <typename T, int kD>
bool try_decode(const KvLayerDevice& kv, dim3 grid, const float* q, const int64_t* positions,
                const AttnParams& p, const SplitParams& sp, float* out, cudaStream_t s) {
  if constexpr (kD / (16 / static_cast<int>(sizeof(T))) > 32) {
    return false;
  } else {
    if (p.head_dim != kD) return false;
    launch_decode_kernel<T, kD>(kv, grid, q, positions, p, sp, out, s);
    return true;
  }
}

template <typename T, size_t... I>
bool launch_decode_dims(const KvLayerDevice& kv, dim3 grid, const float* q,
                        const int64_t* positions, const AttnParams& p, const SplitParams& sp,
                        float* out, cudaStream_t s, std::index_sequence<I...>) {
  return (try_decode<T, kDecodeHeadDims[I]>(kv, grid, q, positions, p, sp, out, s) || ...);
}

// Returns whether one ran.
bool launch_decode(const KvLayerDevice& kv, dim3 grid, const float* q, const int64_t* positions,
                   const AttnParams& p, const SplitParams& sp, float* out, cudaStream_t s) {
  const bool aligned = reinterpret_cast<uintptr_t>(kv.k) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(kv.v) % 16 == 0 && kv.row_elems % 8 == 0;
  if (!aligned) return false;
  constexpr auto kDims = std::make_index_sequence<std::size(kDecodeHeadDims)>{};
  return kv.f16 ? launch_decode_dims<__half>(kv, grid, q, positions, p, sp, out, s, kDims)
                : launch_decode_dims<float>(kv, grid, q, positions, p, sp, out, s, kDims);
}

// Prefill: a block takes kQTile queries of one head and walks key tiles of
// kKTile through shared memory, so each key and value row is read once per
// query tile instead of once per query. Thread t owns query t / 8 and, of
// each tile, keys t % 8 + 8 m (scores) and dims t % 8 + 8 m (output).
constexpr int kQTile = 32;
constexpr int kKTile = 64;
constexpr int kPrefillThreads = 256;
constexpr int kPrefillMaxHeadDim = 128;

size_t prefill_smem_bytes(int64_t d) {
  const size_t ld = static_cast<size_t>(d) + 1;  // padded rows: no bank conflicts
  return sizeof(float) * (kQTile * ld + 2 * kKTile * ld + kQTile * (kKTile + 1));
}

template <typename T>
__global__ void attention_prefill_kernel(const T* kc, const T* vc, const int32_t* table,
                                         const float* q, const int64_t* positions, int64_t n,
                                         AttnParams p, float* out) {
  extern __shared__ float smem[];
  const int64_t d = p.head_dim, ld = d + 1;
  float* qs = smem;              // [kQTile][ld]
  float* ks = qs + kQTile * ld;  // [kKTile][ld]
  float* vs = ks + kKTile * ld;  // [kKTile][ld]
  float* ps = vs + kKTile * ld;  // [kQTile][kKTile + 1]
  const int64_t h = blockIdx.y, kvh = h / (p.n_head / p.n_head_kv);
  const int64_t q0 = static_cast<int64_t>(blockIdx.x) * kQTile;
  const int64_t q_count = n - q0 < kQTile ? n - q0 : kQTile;
  const int tid = threadIdx.x, qi = tid / 8, sub = tid % 8;

  for (int64_t e = tid; e < kQTile * d; e += kPrefillThreads) {
    const int64_t r = e / d, c = e % d;
    qs[r * ld + c] = r < q_count ? q[((q0 + r) * p.n_head + h) * d + c] * p.scale : 0.0f;
  }
  // Rows past the last query repeat it (computed, never written).
  const int64_t my_pos = positions[q0 + (qi < q_count ? qi : q_count - 1)];
  const int64_t first_pos = positions[q0], last_pos = positions[q0 + q_count - 1];
  int64_t lo = p.window > 0 ? first_pos - p.window + 1 : 0;
  if (lo < 0) lo = 0;

  float m = -INFINITY, l = 0.0f;
  float acc[kPrefillMaxHeadDim / 8];
#pragma unroll
  for (int k = 0; k < kPrefillMaxHeadDim / 8; ++k) acc[k] = 0.0f;

  for (int64_t j0 = lo; j0 <= last_pos; j0 += kKTile) {
    __syncthreads();  // the previous tile is no longer read
    for (int64_t e = tid; e < kKTile * d; e += kPrefillThreads) {
      const int64_t r = e / d, c = e % d, pos = j0 + r;
      float kv_k = 0.0f, kv_v = 0.0f;  // keys past the block's last query stay zero
      if (pos <= last_pos) {
        const int64_t off = physical_row(table, p.page_size, pos) * p.row_elems + kvh * d + c;
        kv_k = load(kc + off);
        kv_v = load(vc + off);
      }
      ks[r * ld + c] = kv_k;
      vs[r * ld + c] = kv_v;
    }
    __syncthreads();
    // Scores: one query value read per eight keys.
    float sc[kKTile / 8];
#pragma unroll
    for (int mm = 0; mm < kKTile / 8; ++mm) sc[mm] = 0.0f;
    for (int64_t i = 0; i < d; ++i) {
      const float qv = qs[qi * ld + i];
#pragma unroll
      for (int mm = 0; mm < kKTile / 8; ++mm) sc[mm] += qv * ks[(sub + 8 * mm) * ld + i];
    }
    float tile_max = -INFINITY;
#pragma unroll
    for (int mm = 0; mm < kKTile / 8; ++mm) {
      const int64_t kpos = j0 + sub + 8 * mm;
      const bool visible = kpos <= my_pos && (p.window <= 0 || kpos > my_pos - p.window);
      float sv = sc[mm];
      if (visible && p.softcap > 0.0f) sv = p.softcap * tanhf(sv / p.softcap);
      sc[mm] = visible ? sv : -INFINITY;
      tile_max = fmaxf(tile_max, sc[mm]);
    }
    for (int o = 4; o > 0; o >>= 1)
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, o));
    const float m_new = fmaxf(m, tile_max);
    // A row with nothing visible yet keeps m = -inf and adds nothing.
    const float corr = m_new == -INFINITY ? 1.0f : __expf(m - m_new);
    float tile_sum = 0.0f;
#pragma unroll
    for (int mm = 0; mm < kKTile / 8; ++mm) {
      const float pj = sc[mm] == -INFINITY ? 0.0f : __expf(sc[mm] - m_new);
      ps[qi * (kKTile + 1) + sub + 8 * mm] = pj;
      tile_sum += pj;
    }
    for (int o = 4; o > 0; o >>= 1) tile_sum += __shfl_xor_sync(0xffffffffu, tile_sum, o);
    l = l * corr + tile_sum;
    m = m_new;
    __syncwarp();  // the row's eight threads share one warp
#pragma unroll
    for (int k = 0; k < kPrefillMaxHeadDim / 8; ++k) acc[k] *= corr;
    for (int kj = 0; kj < kKTile; ++kj) {
      const float pj = ps[qi * (kKTile + 1) + kj];
      if (pj == 0.0f) continue;
#pragma unroll
      for (int k = 0; k < kPrefillMaxHeadDim / 8; ++k) {
        const int64_t dim = sub + 8 * k;
        if (dim < d) acc[k] += pj * vs[kj * ld + dim];
      }
    }
  }
  if (qi < q_count) {
    float* orow = out + ((q0 + qi) * p.n_head + h) * d;
#pragma unroll
    for (int k = 0; k < kPrefillMaxHeadDim / 8; ++k) {
      const int64_t dim = sub + 8 * k;
      if (dim < d) orow[dim] = acc[k] / l;
    }
  }
}

template <typename T>
void launch_prefill(const KvLayerDevice& kv, const float* q, int64_t n, const int64_t* positions,
                    const AttnParams& p, float* out, cudaStream_t s) {
  const size_t smem = prefill_smem_bytes(p.head_dim);
  static bool configured = false;  // per instantiation: opt in to > 48 KiB once
  if (!configured) {
    MA_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_kernel<T>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(prefill_smem_bytes(kPrefillMaxHeadDim))));
    configured = true;
  }
  const dim3 grid(static_cast<unsigned>((n + kQTile - 1) / kQTile),
                  static_cast<unsigned>(p.n_head));
  attention_prefill_kernel<T>
      <<<grid, kPrefillThreads, smem, s>>>(static_cast<const T*>(kv.k), static_cast<const T*>(kv.v),
                                           kv.block_table, q, positions, n, p, out);
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
               const ref::AttentionShape& shape, const AttentionScratch& scratch, float* out,
               Q8Out q8, cudaStream_t s) {
  if (q8.q != nullptr && (n != 1 || shape.head_dim % 32 != 0)) {
    throw Error(
        "CUDA attention: an int8 copy of the output needs one token and head_dim a "
        "multiple of 32");
  }
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
  // Prefill over an F16 cache: tensor cores (flash_attention.cu).
  if (n > 1 && kv.f16 && flash_supports_head_dim(shape.head_dim)) {
    flash_attention_paged(kv, q, n, positions, shape, out, s);
    return;
  }
  if (n >= kQTile / 2 && shape.head_dim <= kPrefillMaxHeadDim) {
    if (kv.f16) {
      launch_prefill<__half>(kv, q, n, positions, p, out, s);
    } else {
      launch_prefill<float>(kv, q, n, positions, p, out, s);
    }
    MA_CUDA_CHECK_LAUNCH();
    return;
  }
  SplitParams sp;
  sp.q8 = q8;
  const DecodeSplit split = decode_split(kv, n);
  if (split.n_splits > 1) {
    if (scratch.partial == nullptr) {
      throw Error("CUDA attention: a split decode step needs its scratch");
    }
    sp.chunk = split.chunk;
    sp.n_splits = split.n_splits;
    sp.partial = scratch.partial;
  }
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(shape.n_head),
                  static_cast<unsigned>(sp.n_splits));
  if (launch_decode(kv, grid, q, positions, p, sp, out, s)) return;
  if (kv.f16) {
    launch(attention_kernel<__half>, grid, dim3(kThreads), 0, s, static_cast<const __half*>(kv.k),
           static_cast<const __half*>(kv.v), static_cast<const int32_t*>(kv.block_table), q,
           positions, p, sp, out);
  } else {
    launch(attention_kernel<float>, grid, dim3(kThreads), 0, s, static_cast<const float*>(kv.k),
           static_cast<const float*>(kv.v), static_cast<const int32_t*>(kv.block_table), q,
           positions, p, sp, out);
  }
}

DecodeSplit decode_split(const KvLayerDevice& kv, int64_t n) {
  DecodeSplit d;
  if (n != 1 || kv.capacity <= kSplitMinChunk) return d;
  const int64_t per = (kv.capacity + kMaxSplits - 1) / kMaxSplits;
  d.chunk = per > kSplitMinChunk ? (per + kTile - 1) / kTile * kTile : kSplitMinChunk;
  d.n_splits = static_cast<int>((kv.capacity + d.chunk - 1) / d.chunk);
  return d;
}

}  // namespace ma::cuda
