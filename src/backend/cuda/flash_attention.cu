// Flash attention on tensor cores (see flash_attention.h): the mma.sync
// kernel, the entries and the instantiations; the wgmma kernel is in
// flash_attention_wgmma.cuh, what both share in flash_attention_common.cuh.
//
// mma.sync: each warp owns 16 * kMTiles query rows; S = Q K^T and O += P V
// are m16n8k16 with fp32 accumulators, P stays in registers (the S
// accumulator layout is the A-operand layout), and the running max / sum
// live beside it. K and V tiles come through shared memory by cp.async
// (padded rows: ldmatrix without bank conflicts), V's copy overlapping
// Q K^T and the next K's overlapping P V.
#include <type_traits>

#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/flash_attention.h"
#include "backend/cuda/flash_attention_common.cuh"
#include "backend/cuda/flash_attention_wgmma.cuh"
#include "core/error.h"

namespace ma::cuda {
namespace {

// One instantiation's shape: head dim, operand type, warps, 16-row tiles
// per warp, keys per tile, and the blocks per multiprocessor its registers
// must allow (__launch_bounds__; 3 caps a 4-warp block at 168 registers).
template <int kD, typename Elem, int kW, int kMT, int kKeys, int kBlocksPerSm>
struct FlashConfig {
  using T = Elem;
  static constexpr int kHeadDim = kD, kWarps = kW, kMTiles = kMT, kKeyTile = kKeys;
  static constexpr int kMinBlocks = kBlocksPerSm;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kWarpRows = 16 * kMTiles;
  static constexpr int kQueryTile = kWarps * kWarpRows;
  static constexpr int kLd = kHeadDim + 8;  // +16 bytes: 8 rows of ldmatrix hit 32 banks
  static constexpr size_t kSmemBytes = sizeof(T) * (kQueryTile + 2 * kKeyTile) * kLd;
  static_assert(kHeadDim % 16 == 0 && kHeadDim <= 256 && kKeyTile % 16 == 0);
};

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// c += a (16x16, row) * b (16x8, col); fp32 accumulators.
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Keys [j0, j0 + kKeyTile) of one KV head into shared memory; keys past
// last_key read as zeros (masked scores times zero values add nothing).
template <int kHeadDim, int kKeyTile, int kThreads, int kLd, typename T, typename RowFn>
__device__ __forceinline__ void load_kv_tile(T* dst, int j0, int last_key, RowFn row) {
  constexpr int kChunks = kHeadDim / 8;
  static_assert(kKeyTile * kChunks % kThreads == 0);
#pragma unroll
  for (int i = 0; i < kKeyTile * kChunks / kThreads; ++i) {
    const int e = static_cast<int>(threadIdx.x) + i * kThreads;
    const int r = e / kChunks, c = (e % kChunks) * 8;
    const bool valid = j0 + r <= last_key;
    cp_async_16(dst + r * kLd + c, row(valid ? j0 + r : last_key) + c, valid);
  }
}

// The phases of one key tile, for one warp's rows.
template <typename C>
struct Tile {
  using T = typename C::T;
  static constexpr int kLd = C::kLd, kNt = C::kKeyTile / 8, kDt = C::kHeadDim / 8;
  static constexpr int kM = C::kMTiles;
  using Scores = float[kM][kNt][4];
  using Acc = float[kM][kDt][4];

  // s = Q K^T for the tile in ks (raw dot products).
  static __device__ __forceinline__ void scores(Scores& s, const T* q_warp, const T* ks, int lane) {
#pragma unroll
    for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
      for (int nt = 0; nt < kNt; ++nt)
        s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0;
    }
#pragma unroll
    for (int kc = 0; kc < C::kHeadDim / 16; ++kc) {
      uint32_t a[kM][4];
#pragma unroll
      for (int mt = 0; mt < kM; ++mt) {
        ldmatrix_x4(a[mt], q_warp + (mt * 16 + (lane & 15)) * kLd + kc * 16 + (lane >> 4) * 8);
      }
#pragma unroll
      for (int nb = 0; nb < C::kKeyTile / 16; ++nb) {
        uint32_t b[4];
        ldmatrix_x4(b, ks + (nb * 16 + (lane >> 4) * 8 + (lane & 7)) * kLd + kc * 16 +
                           ((lane >> 3) & 1) * 8);
#pragma unroll
        for (int mt = 0; mt < kM; ++mt) {
          mma_16816<T>(s[mt][2 * nb], a[mt], b[0], b[1]);
          mma_16816<T>(s[mt][2 * nb + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }

  // Soft-cap and mask the scores of keys [j0, j0 + kKeyTile), update the
  // running max and sum, turn s into the tile's weights and rescale o.
  static __device__ __forceinline__ void softmax(Scores& s, Acc& o, float (&row_max)[kM][2],
                                                 float (&row_sum)[kM][2],
                                                 const int (&row_pos)[kM][2], int j0, bool masked,
                                                 const FlashParams& p, int lane) {
    if (p.softcap > 0) {
#pragma unroll
      for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
        for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) s[mt][nt][e] = p.softcap * tanhf(s[mt][nt][e] * p.cap_in);
        }
      }
    }
    if (masked) {
#pragma unroll
      for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
        for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = j0 + nt * 8 + 2 * (lane & 3) + (e & 1), rp = row_pos[mt][e >> 1];
            if (key > rp || (p.window > 0 && key <= rp - p.window)) s[mt][nt][e] = -INFINITY;
          }
        }
      }
    }
    // The row max over the quad of lanes that share a row.
    float corr[kM][2];
    bool rescale = false;
#pragma unroll
    for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
      for (int hr = 0; hr < 2; ++hr) {
        float mx = row_max[mt][hr];
#pragma unroll
        for (int nt = 0; nt < kNt; ++nt) {
          mx = fmaxf(mx, fmaxf(s[mt][nt][2 * hr], s[mt][nt][2 * hr + 1]));
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        // Scaled inside the exponent (one FFMA); a row with nothing visible
        // yet keeps -inf and adds nothing.
        const float es = p.exp_scale, base = mx == -INFINITY ? 0.0f : mx * es;
        corr[mt][hr] = fast_exp2(row_max[mt][hr] * es - base);
        rescale |= corr[mt][hr] != 1.0f;
        row_max[mt][hr] = mx;
        float sum = 0;
#pragma unroll
        for (int nt = 0; nt < kNt; ++nt) {
          s[mt][nt][2 * hr] = fast_exp2(fmaf(s[mt][nt][2 * hr], es, -base));
          s[mt][nt][2 * hr + 1] = fast_exp2(fmaf(s[mt][nt][2 * hr + 1], es, -base));
          sum += s[mt][nt][2 * hr] + s[mt][nt][2 * hr + 1];
        }
        row_sum[mt][hr] = row_sum[mt][hr] * corr[mt][hr] + sum;  // this lane's part of the row
      }
    }
    // Walking keys down from the diagonal, the max seldom moves after the
    // first tile: skip the rescale when no row of the warp needs it.
    if (__any_sync(0xffffffffu, rescale)) {
#pragma unroll
      for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
        for (int dt = 0; dt < kDt; ++dt) {
          o[mt][dt][0] *= corr[mt][0];
          o[mt][dt][1] *= corr[mt][0];
          o[mt][dt][2] *= corr[mt][1];
          o[mt][dt][3] *= corr[mt][1];
        }
      }
    }
  }

  // o += P V for the tile in vs; P from the weights in s (the accumulator
  // layout of S is the A-operand layout of P).
  static __device__ __forceinline__ void accumulate(Acc& o, const Scores& s, const T* vs,
                                                    int lane) {
#pragma unroll
    for (int kc = 0; kc < C::kKeyTile / 16; ++kc) {
      uint32_t a[kM][4];
#pragma unroll
      for (int mt = 0; mt < kM; ++mt) {
        a[mt][0] = pack2<T>(s[mt][2 * kc][0], s[mt][2 * kc][1]);
        a[mt][1] = pack2<T>(s[mt][2 * kc][2], s[mt][2 * kc][3]);
        a[mt][2] = pack2<T>(s[mt][2 * kc + 1][0], s[mt][2 * kc + 1][1]);
        a[mt][3] = pack2<T>(s[mt][2 * kc + 1][2], s[mt][2 * kc + 1][3]);
      }
#pragma unroll
      for (int db = 0; db < C::kHeadDim / 16; ++db) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, vs + (kc * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * kLd + db * 16 +
                                 (lane >> 4) * 8);
#pragma unroll
        for (int mt = 0; mt < kM; ++mt) {
          mma_16816<T>(o[mt][2 * db], a[mt], b[0], b[1]);
          mma_16816<T>(o[mt][2 * db + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }
};

template <typename C, typename Io>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocks)
    flash_attention_kernel(const Io io, const FlashParams p) {
  using T = typename C::T;
  using Ph = Tile<C>;
  constexpr int kLd = C::kLd, kKeyTile = C::kKeyTile, kM = C::kMTiles;
  constexpr int kTileElems = kKeyTile * kLd;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* qs = reinterpret_cast<T*>(smem_raw);
  T* ks = qs + C::kQueryTile * kLd;
  T* vs = ks + kTileElems;

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t h = blockIdx.y, kvh = h / p.group;
  // Positions and key indices in 32 bits (registers are the limit here).
  // Causal tiles late in the sequence do the most work: start them first.
  const int q0 = static_cast<int>(gridDim.x - 1 - blockIdx.x) * C::kQueryTile;
  const int q_last = (q0 + C::kQueryTile < p.n ? q0 + C::kQueryTile : p.n) - 1;
  const int first_pos = static_cast<int>(io.pos(q0)), last_pos = static_cast<int>(io.pos(q_last));
  int lo = p.window > 0 ? first_pos - p.window + 1 : 0;
  if (lo < 0) lo = 0;
  const int n_tiles = (last_pos - lo) / kKeyTile + 1;
  // Masks only where a tile crosses the diagonal, the window's edge or the last key.
  auto masked = [&](int j0) {
    return j0 + kKeyTile - 1 > first_pos || (p.window > 0 && j0 <= last_pos - p.window);
  };
  auto load_k = [&](T* dst, int t) {
    load_kv_tile<C::kHeadDim, kKeyTile, C::kThreads, kLd>(
        dst, lo + t * kKeyTile, last_pos, [&](int key) { return io.k_row(key, kvh); });
  };
  auto load_v = [&](T* dst, int t) {
    load_kv_tile<C::kHeadDim, kKeyTile, C::kThreads, kLd>(
        dst, lo + t * kKeyTile, last_pos, [&](int key) { return io.v_row(key, kvh); });
  };

  // This thread's rows: (lane / 4) and (lane / 4 + 8) of each 16-row tile;
  // rows past the last query take its position (computed, never stored).
  int row_pos[kM][2];
#pragma unroll
  for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
      const int qi = q0 + warp * C::kWarpRows + mt * 16 + (lane >> 2) + 8 * hr;
      row_pos[mt][hr] = static_cast<int>(io.pos(qi <= q_last ? qi : q_last));
    }
  }
  typename Ph::Acc o;
  float row_max[kM][2], row_sum[kM][2];
#pragma unroll
  for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
    for (int dt = 0; dt < Ph::kDt; ++dt)
      o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0;
    row_max[mt][0] = row_max[mt][1] = -INFINITY;
    row_sum[mt][0] = row_sum[mt][1] = 0;
  }
  const T* q_warp = qs + warp * C::kWarpRows * kLd;

  io.template load_q<C::kQueryTile, C::kThreads>([&](int r, int c) { return qs + r * kLd + c; }, q0,
                                                 p.n, h);
  load_k(ks, n_tiles - 1);
  cp_async_commit();

  // One K and one V buffer: V's copy overlaps Q K^T, the next K's P V.
  for (int t = n_tiles - 1; t >= 0; --t) {
    const int j0 = lo + t * kKeyTile;
    cp_async_wait_all();
    __syncthreads();  // K tile (and Q) landed; every warp is done with the last V
    load_v(vs, t);
    cp_async_commit();
    typename Ph::Scores s;
    Ph::scores(s, q_warp, ks, lane);
    Ph::softmax(s, o, row_max, row_sum, row_pos, j0, masked(j0), p, lane);
    cp_async_wait_all();
    __syncthreads();  // V landed; every warp is done with K
    if (t > 0) {
      load_k(ks, t - 1);
      cp_async_commit();
    }
    Ph::accumulate(o, s, vs, lane);
  }

#pragma unroll
  for (int mt = 0; mt < kM; ++mt) {
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
      float sum = row_sum[mt][hr];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inv = 1.0f / sum;
      const int qi = q0 + warp * C::kWarpRows + mt * 16 + (lane >> 2) + 8 * hr;
      if (qi > q_last) continue;
#pragma unroll
      for (int dt = 0; dt < Ph::kDt; ++dt) {
        io.store(qi, h, dt * 8 + 2 * (lane & 3), o[mt][dt][2 * hr] * inv,
                 o[mt][dt][2 * hr + 1] * inv);
      }
    }
  }
}

template <typename C, typename Io>
void launch(const Io& io, const FlashParams& p, int64_t n_head, cudaStream_t s) {
  launch_query_tiles<C>(flash_attention_kernel<C, Io>, io, p, n_head, s);
}

FlashParams make_params(int64_t n, int64_t n_head, int64_t n_head_kv, double scale, int64_t window,
                        double softcap) {
  FlashParams p;
  p.n = static_cast<int>(n);
  p.group = n_head / n_head_kv;
  p.window = static_cast<int>(window);
  p.exp_scale = static_cast<float>(scale * kLog2e);
  if (softcap > 0) {
    p.softcap = static_cast<float>(softcap);
    p.cap_in = static_cast<float>(scale / softcap);
    p.exp_scale = kLog2e;
  }
  return p;
}

void check_shape(int64_t head_dim, int64_t n_head, int64_t n_head_kv) {
  if (!flash_supports_head_dim(head_dim)) {
    throw Error("flash attention supports head_dim " + flash_supported_head_dims() + " (got " +
                std::to_string(head_dim) + ")");
  }
  if (n_head_kv <= 0 || n_head % n_head_kv != 0) {
    throw Error("flash attention needs n_head a multiple of n_head_kv (got " +
                std::to_string(n_head) + " / " + std::to_string(n_head_kv) + ")");
  }
}

}  // namespace

// The instantiations, in one place: the paged f16 entry for each supported
// head dim (and wgmma at 128 on sm_90), the bf16 entry at 128 in each
// FlashTile shape. FlashConfig's arguments: head dim, operand type, warps,
// 16-row tiles per warp, keys per tile, blocks per multiprocessor;
// WgmmaConfig's: operand type (its one shape is head dim 128).
template <int kD>
using PagedConfig = FlashConfig<kD, __half, 4, 1, 64, 3>;
constexpr int kPagedHeadDims[] = {32, 64, 128};  // flash_attention_paged's switch
using PagedWgmma = WgmmaConfig<__half>;          // head dim 128 on sm_90
using Dense64x4 = FlashConfig<128, __nv_bfloat16, 4, 1, 64, 3>;
using Dense128x4 = FlashConfig<128, __nv_bfloat16, 4, 2, 64, 2>;
using DenseWgmma = WgmmaConfig<__nv_bfloat16>;

bool flash_supports_head_dim(int64_t head_dim) {
  for (const int d : kPagedHeadDims) {
    if (d == head_dim) return true;
  }
  return false;
}

std::string flash_supported_head_dims() {
  std::string out;
  for (const int d : kPagedHeadDims) out += (out.empty() ? "" : ", ") + std::to_string(d);
  return out;
}

void flash_attention_paged(const KvLayerDevice& kv, const float* q, int64_t n,
                           const int64_t* positions, const ref::AttentionShape& shape, float* out,
                           cudaStream_t s) {
  check_shape(shape.head_dim, shape.n_head, shape.n_head_kv);
  if (!kv.f16) throw Error("flash attention reads an F16 KV cache only");
  if (n <= 0) return;
  const FlashParams p =
      make_params(n, shape.n_head, shape.n_head_kv, shape.scale, shape.window, shape.softcap);
  auto run = [&](auto head_dim) {
    constexpr int kD = decltype(head_dim)::value;
    const PagedIo<kD> io{q,
                         static_cast<const __half*>(kv.k),
                         static_cast<const __half*>(kv.v),
                         kv.block_table,
                         positions,
                         out,
                         shape.n_head,
                         kv.row_elems,
                         static_cast<int32_t>(kv.page_size)};
    // Head dim 128 on Hopper: the wgmma kernel past one 64-row tile (1.25x
    // to 1.75x the mma.sync kernel's speed at 1k to 16k tokens on an H100).
    if constexpr (kD == 128) {
      if (n > 64 && wgmma_supported()) return launch_wgmma<PagedWgmma>(io, p, shape.n_head, s);
    }
    launch<PagedConfig<kD>>(io, p, shape.n_head, s);
  };
  switch (shape.head_dim) {
    case 32:
      return run(std::integral_constant<int, 32>{});
    case 64:
      return run(std::integral_constant<int, 64>{});
    case 128:
      return run(std::integral_constant<int, 128>{});
  }
}

bool flash_tile_supported(FlashTile tile) {
  return tile != FlashTile::kWgmma128 || wgmma_supported();
}

const char* flash_tile_name(FlashTile tile) {
  switch (tile) {
    case FlashTile::k64x4:
      return "64 rows, 4 warps of 16";
    case FlashTile::k128x4:
      return "128 rows, 4 warps of 32";
    case FlashTile::kWgmma128:
      return "wgmma, 128 rows, 2 warpgroups";
  }
  return "?";
}

void flash_attention_bf16(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t n_head,
                          int64_t n_head_kv, int64_t n, int64_t head_dim, float scale,
                          uint16_t* out, FlashTile tile, cudaStream_t s) {
  check_shape(head_dim, n_head, n_head_kv);
  if (head_dim != 128) {
    throw Error("flash_attention_bf16 supports head_dim 128 (got " + std::to_string(head_dim) +
                ")");
  }
  if (n <= 0) return;
  const FlashParams p = make_params(n, n_head, n_head_kv, scale, 0, 0);
  const DenseIo<128> io{
      reinterpret_cast<const __nv_bfloat16*>(q), reinterpret_cast<const __nv_bfloat16*>(k),
      reinterpret_cast<const __nv_bfloat16*>(v), reinterpret_cast<__nv_bfloat16*>(out), n};
  switch (tile) {
    case FlashTile::k64x4:
      return launch<Dense64x4>(io, p, n_head, s);
    case FlashTile::k128x4:
      return launch<Dense128x4>(io, p, n_head, s);
    case FlashTile::kWgmma128:
      if (!wgmma_supported()) {
        throw Error("the wgmma flash attention needs compute capability 9.0 and an sm_90a build");
      }
      return launch_wgmma<DenseWgmma>(io, p, n_head, s);
  }
}

}  // namespace ma::cuda
