// Streamed decode products (Q4_0, Q4_K in its Q4_0 shape, Q6_K): a persistent
// grid whose blocks each take a contiguous run of kStreamTile-row tiles, the
// tiles' quants and scales brought into shared memory by bulk copies up to
// kStreamStages tiles ahead (bulk_copy.cuh). No registers hold bytes in
// flight, so a block is small (4 warps) and fits beside the 32-warp
// add-and-norm blocks of the launch before it (matvec_add_rms_kernel):
// there it asks for its first tiles before waiting on its predecessor, and
// the weight stream runs through the boundary between the two launches. On
// the H100 this took the 7B gate/up product from 22.1 to 18.3 us, where the
// one-warp-per-row kernel's blocks could only start once the add-and-norm
// blocks had left their SMs; with q/k/v too and three stages, 7B Q4_0 tg128
// went from 495 to 519 t/s. Gate/up with the gated activation as their
// epilogue (one 32-output group per block) saves the activation's launch:
// 7B Q4_0 523-525 -> 526 t/s, and 543 -> 547 once the attention read its
// rows ahead. Q4_K on these paths: 7B Q4_K_M 454-456 -> 497-500; its
// layers with a Q6_K v streaming that too (tiles of either type in one
// run): 497-499 -> 505-506 t/s.
#include <cuda_fp16.h>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backend/cuda/bulk_copy.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/device_info.h"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/matvec_common.cuh"
#include "backend/cuda/rope.cuh"

namespace ma::cuda {
namespace {

// Each warp multiplies two rows of a tile against the activations, which
// are copied into shared memory once per block.
constexpr int kStreamWarps = 4;
constexpr int kStreamRows = 2;  // per warp and tile
constexpr int kStreamTile = kStreamWarps * kStreamRows;
constexpr int kStreamStages = 4;  // at most

// Stages in flight: as many as fit kStreamBudget bytes, two to four, so the
// blocks of the launch after this one still find room beside it.
constexpr int64_t kStreamBudget = 64 << 10;

// A stage holds one tile: a Q4 tile's quants and then its scale bits, or
// (kQ6V, a Q4_K_M q/k/v group's v) a Q6_K tile's super-blocks and then
// their scales; stages are `room` bytes apart.
struct StreamLayout {
  uint32_t q_bytes = 0, stage_bytes = 0;
  uint32_t q6_bytes = 0, q6_stage_bytes = 0;
  uint32_t room = 0;
  int stages = 0;
  size_t smem = 0;
};

__host__ __device__ inline StreamLayout stream_layout(int64_t in, bool q6 = false) {
  const int64_t nb = in / 32, nsb = in / 256;
  StreamLayout l;
  l.q_bytes = static_cast<uint32_t>(kStreamTile * nb * 16);
  l.stage_bytes = l.q_bytes + static_cast<uint32_t>(kStreamTile * nb * 2);
  l.room = l.stage_bytes;
  if (q6) {
    l.q6_bytes = static_cast<uint32_t>(kStreamTile * nsb * kQ6Bytes);
    l.q6_stage_bytes = l.q6_bytes + static_cast<uint32_t>(kStreamTile * nsb * 2);
    l.room = l.room > l.q6_stage_bytes ? l.room : l.q6_stage_bytes;
  }
  const int64_t fit = kStreamBudget / l.room;
  l.stages = static_cast<int>(fit < 2 ? 2 : fit > kStreamStages ? kStreamStages : fit);
  l.smem = 128 + static_cast<size_t>(l.stages) * l.room + static_cast<size_t>(nb) * 40;
  return l;
}

// The q/k/v epilogue (QkvRope) of one RoPE pair, rows row and row + 1 of
// weight k (a warp's two rows): the products to y[k], then q rotated into
// y[0], k rotated and v into the cache row of this step's position.
__device__ void rope_pair_out(const MatvecGroup& g, int k, int64_t row, float2 v, const QkvRope& r,
                              int64_t pos, int64_t cache_row) {
  g.y[k][row] = v.x;
  g.y[k][row + 1] = v.y;
  const int64_t e = row % r.head_dim;
  if (k < 2 && e / 2 < r.rope.n_dims / 2) v = rotate_pair(v, rope_turn(r.rope, pos, e / 2));
  if (k == 0) {
    g.y[0][row] = v.x;
    g.y[0][row + 1] = v.y;
    return;
  }
  const int64_t dst = cache_row * r.kv.row_elems + row;
  void* cache = k == 1 ? r.kv.k : r.kv.v;
  if (r.kv.f16) {
    store_as(static_cast<__half*>(cache) + dst, v.x);
    store_as(static_cast<__half*>(cache) + dst + 1, v.y);
  } else {
    store_as(static_cast<float*>(cache) + dst, v.x);
    store_as(static_cast<float*>(cache) + dst + 1, v.y);
  }
}

static_assert(kStreamRows == 2, "a warp's rows are one RoPE pair");

// What a launch does with its products: store them, the q/k/v epilogue
// (each warp's two rows being one RoPE pair), or the gated activation of
// a gate/up pair (y[0] = act(gate) * up with its q8 copy; y[1] = up).
// (The add-and-norm products stay on their 32-warp blocks: streamed with a
// block per 32-row group they were slower on the H100, 297-477 against
// 517-521 t/s over every tile shape and copy scheme tried; bench/RESULTS.md.)
enum class StreamOut { kStore, kQkvRope, kGatedSilu, kGatedGelu };

template <StreamOut kOut>
constexpr bool kGatedOut = kOut == StreamOut::kGatedSilu || kOut == StreamOut::kGatedGelu;

// A gated launch walks 32-output groups, each as the gate's four tiles of
// those rows, then the up's four; every other launch walks the group's
// weights one after another.
constexpr int kGroupTiles = 2 * 32 / kStreamTile;
static_assert(32 % kStreamTile == 0, "a gated group is whole tiles");

// The gated activation of a finished group (warp 0: vals holds the gate's
// 32 products, then the up's): y[0] and its q8 copy.
template <StreamOut kOut>
__device__ void gated_group_out(const MatvecGroup& g, const float* vals, int64_t first, Q8Out q8) {
  constexpr GateActivation kAct =
      kOut == StreamOut::kGatedSilu ? GateActivation::kSilu : GateActivation::kGeluTanh;
  const int lane = static_cast<int>(threadIdx.x);
  const float h = gate_activation<kAct>(vals[lane]) * vals[32 + lane];
  g.y[0][first + lane] = h;
  quantize_warp(h, first, q8);
}

// kQ6V: tiles may be Q6_K (Q4_K_M's v beside a Q4_K q and k; a Q6_K head).
template <GgmlType kType, StreamOut kOut, bool kQ6V = false>
__global__ void __launch_bounds__(32 * kStreamWarps)
    matvec_streamed_kernel(MatvecGroup g, Activations a, int64_t tiles, QkvRope rope, Q8Out q8) {
  constexpr bool kRope = kOut == StreamOut::kQkvRope, kGated = kGatedOut<kOut>;
  // A gated group's products, double-buffered: warp 0 reads one group's
  // while the other warps fill the next.
  __shared__ float vals[kGated ? 2 : 1][64];
  extern __shared__ __align__(128) uint8_t smem[];
  const int lane = static_cast<int>(threadIdx.x), warp = static_cast<int>(threadIdx.y);
  const int64_t in = g.w[0].in, nb = in / 32;
  const StreamLayout l = stream_layout(in, kQ6V);
  auto* full = reinterpret_cast<uint64_t*>(smem);
  uint8_t* stages = smem + 128;
  auto* xq = reinterpret_cast<int4*>(stages + l.stages * l.room);
  auto* xs = reinterpret_cast<float2*>(xq + 2 * nb);
  // The block's contiguous run of tiles (of whole groups when gated).
  const int64_t unit = kGated ? kGroupTiles : 1, units = tiles / unit;
  const int64_t first = units * blockIdx.x / gridDim.x * unit;
  const int64_t mine = units * (blockIdx.x + 1) / gridDim.x * unit - first;
  const bool leader = lane == 0 && warp == 0;
  // Tile t of the group: weight k, its first row.
  auto locate = [&](int64_t t, int* k) {
    if constexpr (kGated) {
      const int64_t s = t % kGroupTiles;
      *k = static_cast<int>(s / (kGroupTiles / 2));
      return t / kGroupTiles * 32 + s % (kGroupTiles / 2) * kStreamTile;
    }
    int64_t row = t * kStreamTile;
    *k = 0;
    while (*k < g.count - 1 && row >= g.w[*k].out) row -= g.w[(*k)++].out;
    return row;
  };
  auto issue = [&](int64_t i) {
    int k = 0;
    const int64_t row0 = locate(first + i, &k);
    const DeviceWeight& w = g.w[k];
    uint8_t* st = stages + (i % l.stages) * l.room;
    uint64_t* bar = &full[i % l.stages];
    const auto* q = static_cast<const uint8_t*>(w.q);
    if (kQ6V && w.type == GgmlType::Q6_K) {
      const int64_t nsb = in / 256;
      mbarrier_expect_bytes(bar, l.q6_stage_bytes);
      bulk_copy_to_shared(st, q + row0 * nsb * kQ6Bytes, l.q6_bytes, bar);
      bulk_copy_to_shared(st + l.q6_bytes, w.d + row0 * nsb, l.q6_stage_bytes - l.q6_bytes, bar);
      return;
    }
    mbarrier_expect_bytes(bar, l.stage_bytes);
    bulk_copy_to_shared(st, q + row0 * nb * 16, l.q_bytes, bar);
    bulk_copy_to_shared(st + l.q_bytes, w.d + row0 * nb, l.stage_bytes - l.q_bytes, bar);
  };
  if (leader) {
    for (int s = 0; s < l.stages; ++s) mbarrier_init(&full[s], 1);
    mbarrier_init_fence();
    for (int64_t i = 0; i < l.stages && i < mine; ++i) issue(i);
  }
  // The step's position and its cache row: written before the step's
  // first kernel, so read before waiting.
  int64_t pos = 0, cache_row = 0;
  if (kRope && lane == 0) {
    pos = rope.positions[0];
    cache_row = physical_row(rope.kv.block_table, rope.kv.page_size, pos);
  }
  pdl_start();
  const RmsFactor rms(a.rms);
  const int tid = warp * 32 + lane;
  for (int64_t j = tid; j < 2 * nb; j += 32 * kStreamWarps) xq[j] = a.xq[j];
  for (int64_t j = tid; j < nb; j += 32 * kStreamWarps) xs[j] = a.xs[j];
  const float factor = rms.value();
  write_normed(a.rms, factor);
  __syncthreads();  // also orders the barriers' init before their waits
  for (int64_t i = 0; i < mine; ++i) {
    const uint8_t* st = stages + (i % l.stages) * l.room;
    // The tile's weight and first row: found before the products only where
    // its type decides them (kept after, they hold no registers meanwhile).
    int k = 0;
    int64_t row0 = 0;
    if constexpr (kQ6V) row0 = locate(first + i, &k);
    mbarrier_wait(&full[i % l.stages], static_cast<uint32_t>((i / l.stages) & 1));
    float acc[kStreamRows] = {};
    if (kQ6V && g.w[k].type == GgmlType::Q6_K) {
      const int64_t nsb = in / 256;
      const Q6Lane q6(lane);
      const auto* d = reinterpret_cast<const uint16_t*>(st + l.q6_bytes);
      for (int64_t sb = lane / 8; sb < nsb; sb += 4) {
#pragma unroll
        for (int r = 0; r < kStreamRows; ++r) {
          const int64_t e = (warp * kStreamRows + r) * nsb + sb;  // super-block of the tile
          acc[r] += q6.dot(q6.load<true>(st + e * kQ6Bytes, d + e), sb, xq, xs);
        }
      }
    } else if constexpr (kType == GgmlType::Q4_K) {
      // 32-bit tile-local indices (a tile fits in shared memory): the
      // compiler then hoists the lane's scale shifts (b & 7 is the lane's).
      // Q4_0's loop ran slower this way, so it keeps the general one below.
      // Unrolled twice except in q/k/v: there the kernel must stay at 64
      // registers to fit beside down's add-and-norm blocks (kNeighbourRegs
      // in matvec_kernels.cu); unrolled it takes 76.
      const int nb32 = static_cast<int>(nb);
      const auto* q_rows = reinterpret_cast<const uint4*>(st) + warp * kStreamRows * nb32;
      const auto* s_rows =
          reinterpret_cast<const uint4*>(st + l.q_bytes) + warp * kStreamRows * nb32 / 8;
      constexpr int kUnrollQ4K = kRope ? 1 : 2;
#pragma unroll kUnrollQ4K
      for (int b = lane; b < nb32; b += 32) {
        const int4 lo = xq[2 * b], hi = xq[2 * b + 1];
        const float2 x = xs[b];
#pragma unroll
        for (int r = 0; r < kStreamRows; ++r) {
          const uint4 q = q_rows[r * nb32 + b];
          const uint4 bits = s_rows[r * nb32 / 8 + b / 8];
          acc[r] += q4_block_product<kType>(bits, b, dot_q4_0_block(q, lo, hi), x);
        }
      }
    } else {
      for (int64_t b = lane; b < nb; b += 32) {
        const int4 lo = xq[2 * b], hi = xq[2 * b + 1];
        const float2 x = xs[b];
#pragma unroll
        for (int r = 0; r < kStreamRows; ++r) {
          const int64_t e = (warp * kStreamRows + r) * nb + b;  // block of the tile
          const uint4 q = *reinterpret_cast<const uint4*>(st + e * 16);
          const uint16_t bits = q4_0_scale_at(st + l.q_bytes, e);
          acc[r] += q4_block_product<kType>(bits, b, dot_q4_0_block(q, lo, hi), x);
        }
      }
    }
    if constexpr (!kQ6V) row0 = locate(first + i, &k);
    float v[kStreamRows];
#pragma unroll
    for (int r = 0; r < kStreamRows; ++r) v[r] = warp_sum(acc[r]) * factor;
    const int64_t row = row0 + warp * kStreamRows;
    if (lane == 0) {
      if constexpr (kRope) {
        rope_pair_out(g, k, row, make_float2(v[0], v[1]), rope, pos, cache_row);
      } else if constexpr (kGated) {
        float* gv = vals[(first + i) / kGroupTiles % 2] + k * 32 + row % 32;
#pragma unroll
        for (int r = 0; r < kStreamRows; ++r) {
          gv[r] = v[r];
          if (k == 1) g.y[1][row + r] = v[r];
        }
      } else {
#pragma unroll
        for (int r = 0; r < kStreamRows; ++r) g.y[k][row + r] = v[r];
      }
    }
    __syncthreads();  // the stage is read: it may be refilled
    if (leader && i + l.stages < mine) {
      fence_async_shared();
      issue(i + l.stages);
    }
    if constexpr (kGated) {
      const int64_t t = first + i;
      if (warp == 0 && t % kGroupTiles == kGroupTiles - 1) {
        gated_group_out<kOut>(g, vals[t / kGroupTiles % 2], t / kGroupTiles * 32, q8);
      }
    }
  }
}

// What the streamed kernel makes of a group: nothing; weights of one Q4
// type (Q4_0 or Q4_K); (q/k/v only) Q4_K q and k with a Q6_K v; or Q6_K
// weights without an epilogue (the LM head: 7B Q4_0 tg128 554.6/555.1 ->
// 556.4/556.6 t/s, Q4_K_M unchanged). It needs a Hopper or later card, q8_1
// input, whole tiles, its shared memory within the card's limit, and not to
// be turned off (MA_CUDA_STREAMED=0, for comparisons).
enum class StreamKind { kNone, kQ4, kQ4KWithQ6V, kQ6K };

StreamKind stream_kind(const MatvecGroup& g, const MatvecInput& in) {
  static const bool enabled = [] {
    const char* v = std::getenv("MA_CUDA_STREAMED");
    return v == nullptr || std::string(v) != "0";
  }();
  // Bulk copies and their barriers need Hopper (sm_90) or later.
  if (!enabled || in.xq == nullptr || device_info().major < 9) return StreamKind::kNone;
  bool q4 = true, q6v = g.count == 3, q6 = true;
  for (int k = 0; k < g.count; ++k) {
    const DeviceWeight& w = g.w[k];
    const bool aligned =  // bulk copies move 16-byte multiples
        reinterpret_cast<uintptr_t>(w.q) % 16 == 0 && reinterpret_cast<uintptr_t>(w.d) % 16 == 0;
    if (w.in != g.w[0].in || w.out % kStreamTile != 0 || !aligned) return StreamKind::kNone;
    q4 = q4 && (w.type == GgmlType::Q4_0 || w.type == GgmlType::Q4_K) && w.type == g.w[0].type;
    q6v = q6v && w.type == (k == g.count - 1 ? GgmlType::Q6_K : GgmlType::Q4_K);
    q6 = q6 && w.type == GgmlType::Q6_K;
  }
  if (!q4 && !q6v && !q6) return StreamKind::kNone;
  const size_t smem = stream_layout(g.w[0].in, !q4).smem;
  if (smem > static_cast<size_t>(device_info().smem_optin)) return StreamKind::kNone;
  return q4 ? StreamKind::kQ4 : q6v ? StreamKind::kQ4KWithQ6V : StreamKind::kQ6K;
}

// How many blocks of the kernel are resident on the card at once for rows
// of `in` inputs (its shared memory granted first): a persistent grid.
template <GgmlType kType, StreamOut kOut, bool kQ6V = false>
int64_t resident_blocks(int64_t in) {
  const auto kernel = matvec_streamed_kernel<kType, kOut, kQ6V>;
  const size_t smem = stream_layout(in, kQ6V).smem;
  static size_t granted = 0, sized = 0;
  static int per_sm = 0;
  if (smem > granted) {
    MA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(smem)));
    granted = smem;
  }
  if (smem != sized) {
    MA_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, 32 * kStreamWarps, smem));
    sized = smem;
  }
  return static_cast<int64_t>(std::max(per_sm, 1)) * device_info().sms;
}

// At most one block per run unit (a tile, or a gated group).
template <GgmlType kType, StreamOut kOut, bool kQ6V = false>
void launch_streamed(const MatvecGroup& g, const MatvecInput& in, const QkvRope& rope, Q8Out q8,
                     cudaStream_t s) {
  int64_t tiles = 0;
  for (int k = 0; k < g.count; ++k) tiles += g.w[k].out / kStreamTile;
  const int64_t units = kGatedOut<kOut> ? tiles / kGroupTiles : tiles;
  const int64_t grid = std::min(units, resident_blocks<kType, kOut, kQ6V>(g.w[0].in));
  launch(matvec_streamed_kernel<kType, kOut, kQ6V>, dim3(static_cast<unsigned>(grid)),
         dim3(32, kStreamWarps), stream_layout(g.w[0].in, kQ6V).smem, s, g, activations(in), tiles,
         rope, q8);
}

// The gated launch takes a group only where every block gets one 32-output
// group: with more groups than resident blocks, the blocks holding two
// finish last (8B Q4_0 on the H100, 448 groups on 396 blocks: 444 against
// 466-472 t/s unfused).
template <GgmlType kType, StreamOut kOut>
bool launch_gated(const MatvecGroup& g, const MatvecInput& in, Q8Out q8, cudaStream_t s) {
  if (g.w[0].out / 32 > resident_blocks<kType, kOut>(g.w[0].in)) return false;
  launch_streamed<kType, kOut>(g, in, QkvRope{}, q8, s);
  return true;
}

// The group's one type (stream_kind) as a template argument.
template <StreamOut kOut>
void launch_streamed_typed(const MatvecGroup& g, const MatvecInput& in, const QkvRope& rope,
                           cudaStream_t s) {
  if (g.w[0].type == GgmlType::Q4_K) {
    launch_streamed<GgmlType::Q4_K, kOut>(g, in, rope, Q8Out{}, s);
  } else {
    launch_streamed<GgmlType::Q4_0, kOut>(g, in, rope, Q8Out{}, s);
  }
}

template <StreamOut kOut>
bool launch_gated_typed(const MatvecGroup& g, const MatvecInput& in, Q8Out q8, cudaStream_t s) {
  return g.w[0].type == GgmlType::Q4_K ? launch_gated<GgmlType::Q4_K, kOut>(g, in, q8, s)
                                       : launch_gated<GgmlType::Q4_0, kOut>(g, in, q8, s);
}

}  // namespace

bool matvec_streamed(const MatvecGroup& g, const MatvecInput& in, cudaStream_t s) {
  switch (stream_kind(g, in)) {
    case StreamKind::kQ4:
      launch_streamed_typed<StreamOut::kStore>(g, in, QkvRope{}, s);
      return true;
    case StreamKind::kQ6K:  // Q6_K tiles only: the Q4 type goes unread
      launch_streamed<GgmlType::Q4_K, StreamOut::kStore, true>(g, in, QkvRope{}, Q8Out{}, s);
      return true;
    default:
      return false;
  }
}

// The caller has checked the RoPE shape (matvec_qkv_rope): rows in whole
// heads of an even head_dim, so no pair straddles a tile.
bool matvec_streamed_qkv_rope(const MatvecGroup& g, const MatvecInput& in, const QkvRope& r,
                              cudaStream_t s) {
  switch (stream_kind(g, in)) {
    case StreamKind::kQ4:
      launch_streamed_typed<StreamOut::kQkvRope>(g, in, r, s);
      return true;
    case StreamKind::kQ4KWithQ6V:
      launch_streamed<GgmlType::Q4_K, StreamOut::kQkvRope, true>(g, in, r, Q8Out{}, s);
      return true;
    default:
      return false;
  }
}

bool matvec_gated(const MatvecGroup& g, const MatvecInput& in, GateActivation act, Q8Out q8,
                  cudaStream_t s) {
  if (g.count != 2 || g.w[0].out != g.w[1].out || g.w[0].out % 32 != 0 || q8.q == nullptr ||
      stream_kind(g, in) != StreamKind::kQ4) {
    return false;
  }
  return act == GateActivation::kSilu ? launch_gated_typed<StreamOut::kGatedSilu>(g, in, q8, s)
                                      : launch_gated_typed<StreamOut::kGatedGelu>(g, in, q8, s);
}

}  // namespace ma::cuda
