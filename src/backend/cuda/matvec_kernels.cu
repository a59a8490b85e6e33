// Matrix-vector products for decode: one warp per output row, each lane
// reading 16-byte chunks so every weight byte is loaded once, coalesced,
// with kUnroll independent loads in flight per lane. Quantized types
// multiply int8 activations (quantize_q8_1) with dp4a; float types multiply
// the float activations directly. One launch may cover several weights that
// read the same input (q, k, v; gate, up).
#include <iterator>
#include <string>
#include <utility>

#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/matvec_common.cuh"
#include "backend/cuda/rope.cuh"
#include "core/error.h"

namespace ma::cuda {
namespace {

constexpr int kWarps = 4;   // rows per thread block
constexpr int kUnroll = 4;  // 16-byte loads in flight per lane

// One warp per 32-element block: int8 quants, scale, and scale * sum(quants).
__global__ void quantize_q8_1_kernel(const float* x, int64_t n_blocks, int8_t* xq, float2* xs) {
  pdl_start();
  const int64_t b = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  if (b >= n_blocks) return;
  const float v = x[b * 32 + threadIdx.x];
  const float amax = warp_max(fabsf(v));
  const float d = amax / 127.0f;
  const int q = amax == 0.0f ? 0 : __float2int_rn(v / d);
  xq[b * 32 + threadIdx.x] = static_cast<int8_t>(q);
  const float qsum = warp_sum(static_cast<float>(q));
  if (threadIdx.x == 0) xs[b] = make_float2(d, d * qsum);
}

// One pass of a lane over a Q4_0 or Q4_K row (matvec_common.cuh): kUnroll
// blocks 32 apart from b0, loaded (constant weights, so before a kernel's
// wait if it likes) and then multiplied with the activations.
template <GgmlType kType, int kU = kUnroll>
struct Q4Chunk {
  uint4 q[kU];
  Q4ScaleBits<kType> s[kU];
};

template <GgmlType kType, int kU>
__device__ __forceinline__ void load_q4(const uint4* qr, const uint16_t* dr, int64_t nb, int64_t b0,
                                        Q4Chunk<kType, kU>& c) {
#pragma unroll
  for (int u = 0; u < kU; ++u) {
    const int64_t b = b0 + 32 * u;
    if (b < nb) {
      c.q[u] = __ldg(qr + b);
      c.s[u] = load_q4_scale<kType>(dr, b);
    }
  }
}

template <GgmlType kType, int kU>
__device__ __forceinline__ float dot_q4(const Q4Chunk<kType, kU>& c, int64_t nb, int64_t b0,
                                        const Activations& a) {
  float acc = 0.0f;
#pragma unroll
  for (int u = 0; u < kU; ++u) {
    const int64_t b = b0 + 32 * u;
    if (b < nb) {
      const int dot = dot_q4_0_block(c.q[u], a.xq[2 * b], a.xq[2 * b + 1]);
      acc += q4_block_product<kType>(c.s[u], b, dot, a.xs[b]);
    }
  }
  return acc;
}

// Partial dot products of this lane from block b_first on; the caller sums
// the warp.
template <GgmlType kType, int kU = kUnroll>
__device__ float row_q4(const DeviceWeight& w, int64_t row, const Activations& a,
                        int64_t b_first = threadIdx.x) {
  const int64_t nb = w.in / 32;
  const uint4* qr =
      reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(w.q) + row * nb * 16);
  const uint16_t* dr = w.d + row * nb;  // Q4_K: the row's headers, as many bytes
  float acc = 0.0f;
  for (int64_t b0 = b_first; b0 < nb; b0 += 32 * kU) {
    Q4Chunk<kType, kU> c;
    load_q4(qr, dr, nb, b0, c);
    acc += dot_q4(c, nb, b0, a);
  }
  return acc;
}

__device__ float row_q8_0(const DeviceWeight& w, int64_t row, const Activations& a) {
  const int64_t nb = w.in / 32;
  const int4* qr = reinterpret_cast<const int4*>(static_cast<const int8_t*>(w.q) + row * w.in);
  const uint16_t* dr = w.d + row * nb;
  float acc = 0.0f;
  for (int64_t b0 = threadIdx.x; b0 < nb; b0 += 32 * kUnroll) {
    int4 q0[kUnroll], q1[kUnroll];
    uint16_t d[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + 32 * u;
      if (b < nb) {
        q0[u] = __ldg(qr + 2 * b);
        q1[u] = __ldg(qr + 2 * b + 1);
        d[u] = __ldg(dr + b);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + 32 * u;
      if (b < nb) {
        const int s = dot_int8x16(q1[u], a.xq[2 * b + 1], dot_int8x16(q0[u], a.xq[2 * b], 0));
        acc += half_bits_to_float(d[u]) * a.xs[b].x * static_cast<float>(s);
      }
    }
  }
  return acc;
}

// 16-bit float rows (F16 or BF16): 8 elements per 16-byte load.
template <bool kBf16>
__device__ float row_16bit(const DeviceWeight& w, int64_t row, const Activations& a) {
  const uint4* wr = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(w.q) + row * w.in);
  const float4* x4 = reinterpret_cast<const float4*>(a.x);
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < w.in / 8; c += 32) {
    const uint4 p = __ldg(wr + c);
    const float4 lo = x4[2 * c], hi = x4[2 * c + 1];
    const uint32_t words[4] = {p.x, p.y, p.z, p.w};
    const float xs[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint16_t e0 = static_cast<uint16_t>(words[k] & 0xFFFFu);
      const uint16_t e1 = static_cast<uint16_t>(words[k] >> 16);
      const float f0 = kBf16 ? bf16_bits_to_float(e0) : half_bits_to_float(e0);
      const float f1 = kBf16 ? bf16_bits_to_float(e1) : half_bits_to_float(e1);
      acc += f0 * xs[2 * k] + f1 * xs[2 * k + 1];
    }
  }
  return acc;
}

__device__ float row_f32(const DeviceWeight& w, int64_t row, const Activations& a) {
  const float4* wr = reinterpret_cast<const float4*>(static_cast<const float*>(w.q) + row * w.in);
  const float4* x4 = reinterpret_cast<const float4*>(a.x);
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < w.in / 4; c += 32) {
    const float4 p = __ldg(wr + c), b = x4[c];
    acc += p.x * b.x + p.y * b.y + p.z * b.z + p.w * b.w;
  }
  return acc;
}

// Q5_K / Q6_K: eight lanes per 256-element super-block, four super-blocks
// per warp step, kUnrollK steps in flight. Each lane loads 16 bytes of
// quants (32 elements: 16 from each of two sub-blocks) and the block's
// header or scales, and multiplies them with dp4a against the q8_1
// activations. (Q4_K is Q4_0-shaped on the device: row_q4.)
constexpr int kUnrollK = 2;  // 4: more registers, fewer warps, slower (H100)

// Q5_K: lane (g, h) takes bytes [16h, 16h + 16) of nibble group g: low
// nibbles are elements 64g + 16h + j of sub-block 2g, high nibbles the same
// j of sub-block 2g + 1; their fifth bits are bit 2g and 2g + 1 of
// qh[16h + j].
__device__ float row_q5_k(const DeviceWeight& w, int64_t row, const Activations& a) {
  constexpr int64_t kBytes = 176;
  constexpr int kQs = 48;  // offset of the nibbles
  const int64_t nsb = w.in / 256;
  const auto* blocks = static_cast<const uint8_t*>(w.q) + row * nsb * kBytes;
  const int lane = static_cast<int>(threadIdx.x), g = (lane % 8) / 2, h = lane % 2;
  float acc = 0.0f;
  for (int64_t sb0 = lane / 8; sb0 < nsb; sb0 += 4 * kUnrollK) {
    uint4 head[kUnrollK], qs[kUnrollK], qh[kUnrollK];
#pragma unroll
    for (int u = 0; u < kUnrollK; ++u) {
      const int64_t sb = sb0 + 4 * u;
      if (sb < nsb) {
        const uint8_t* b = blocks + sb * kBytes;
        head[u] = __ldg(reinterpret_cast<const uint4*>(b));
        qs[u] = __ldg(reinterpret_cast<const uint4*>(b + kQs + 32 * g + 16 * h));
        qh[u] = __ldg(reinterpret_cast<const uint4*>(b + 16 + 16 * h));
      }
    }
#pragma unroll
    for (int u = 0; u < kUnrollK; ++u) {
      const int64_t sb = sb0 + 4 * u;
      if (sb >= nsb) continue;
      const uint32_t q[4] = {qs[u].x, qs[u].y, qs[u].z, qs[u].w};
      uint32_t lo[4], hi[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        lo[k] = q[k] & 0x0F0F0F0Fu;
        hi[k] = (q[k] >> 4) & 0x0F0F0F0Fu;
      }
      const uint32_t bits[4] = {qh[u].x, qh[u].y, qh[u].z, qh[u].w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        lo[k] |= ((bits[k] >> (2 * g)) & 0x01010101u) << 4;
        hi[k] |= ((bits[k] >> (2 * g + 1)) & 0x01010101u) << 4;
      }
      const int64_t blk = sb * 8 + 2 * g;  // q8_1 block of the low nibbles
      const int dot_lo = dot_int8x16(as_int4(lo[0], lo[1], lo[2], lo[3]), a.xq[2 * blk + h], 0);
      const int dot_hi = dot_int8x16(as_int4(hi[0], hi[1], hi[2], hi[3]), a.xq[2 * blk + 2 + h], 0);
      // The packed scales are bytes 4..15 of the header.
      const auto packed = [&](int i) { return byte_of(head[u], 4 + i); };
      int sc_lo, m_lo, sc_hi, m_hi;
      k4_scale_min_at(packed, 2 * g, &sc_lo, &m_lo);
      k4_scale_min_at(packed, 2 * g + 1, &sc_hi, &m_hi);
      const float d = half_bits_to_float(static_cast<uint16_t>(head[u].x & 0xFFFFu));
      const float dmin = half_bits_to_float(static_cast<uint16_t>(head[u].x >> 16));
      const float2 xs_lo = a.xs[blk], xs_hi = a.xs[blk + 1];
      acc += d * (static_cast<float>(sc_lo) * xs_lo.x * static_cast<float>(dot_lo) +
                  static_cast<float>(sc_hi) * xs_hi.x * static_cast<float>(dot_hi));
      // The mins multiply whole sub-block sums: one lane of the two adds them.
      if (h == 0) {
        acc -= dmin * (static_cast<float>(m_lo) * xs_lo.y + static_cast<float>(m_hi) * xs_hi.y);
      }
    }
  }
  return acc;
}

// Q6_K: eight lanes per super-block (Q6Lane), kUnrollK steps of
// four super-blocks in flight.
template <int kU = kUnrollK>
__device__ float row_q6_k(const DeviceWeight& w, int64_t row, const Activations& a) {
  const int64_t nsb = w.in / 256;
  const auto* blocks = static_cast<const uint8_t*>(w.q) + row * nsb * kQ6Bytes;
  const uint16_t* dr = w.d + row * nsb;
  const Q6Lane lane(static_cast<int>(threadIdx.x));
  float acc = 0.0f;
  for (int64_t sb0 = threadIdx.x / 8; sb0 < nsb; sb0 += 4 * kU) {
    Q6Bits bits[kU];
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int64_t sb = sb0 + 4 * u;
      if (sb < nsb) bits[u] = lane.load(blocks + sb * kQ6Bytes, dr + sb);
    }
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int64_t sb = sb0 + 4 * u;
      if (sb < nsb) acc += lane.dot(bits[u], sb, a.xq, a.xs);
    }
  }
  return acc;
}

template <GgmlType kType>
__device__ __forceinline__ float row_dot(const DeviceWeight& w, int64_t row, const Activations& a) {
  if constexpr (kType == GgmlType::Q6_K) return row_q6_k<>(w, row, a);
  if constexpr (kType == GgmlType::Q4_K || kType == GgmlType::Q4_0) return row_q4<kType>(w, row, a);
  if constexpr (kType == GgmlType::Q5_K) return row_q5_k(w, row, a);
  if constexpr (kType == GgmlType::Q8_0) return row_q8_0(w, row, a);
  if constexpr (kType == GgmlType::F16) return row_16bit<false>(w, row, a);
  if constexpr (kType == GgmlType::BF16) return row_16bit<true>(w, row, a);
  if constexpr (kType == GgmlType::F32) return row_f32(w, row, a);
}

// kMixed: a group of quantized weights of different types (Q4_K_M's q and k
// with a Q6_K v) in one launch, each warp taking its weight's type; the
// kernel holds the registers of the widest.
template <GgmlType kType, bool kMixed>
__device__ __forceinline__ float row_dot_of(const DeviceWeight& w, int64_t row,
                                            const Activations& a) {
  if constexpr (!kMixed) {
    return row_dot<kType>(w, row, a);
  } else {
    switch (w.type) {
      case GgmlType::Q4_0:
        return row_dot<GgmlType::Q4_0>(w, row, a);
      case GgmlType::Q8_0:
        return row_dot<GgmlType::Q8_0>(w, row, a);
      case GgmlType::Q4_K:
        return row_dot<GgmlType::Q4_K>(w, row, a);
      case GgmlType::Q5_K:
        return row_dot<GgmlType::Q5_K>(w, row, a);
      case GgmlType::Q6_K:
        return row_dot<GgmlType::Q6_K>(w, row, a);
      default:
        return 0.0f;  // the host launches only quantized groups here
    }
  }
}

// Asks for bytes [p, p + bytes) to be brought into L2 (the 16-byte aligned
// part; a hint that returns at once).
__device__ __forceinline__ void prefetch_l2(const void* p, int64_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  const uint64_t a = reinterpret_cast<uint64_t>(p);
  const uint64_t lo = (a + 15) & ~uint64_t{15},
                 hi = (a + static_cast<uint64_t>(bytes)) & ~uint64_t{15};
  if (hi > lo) {
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(lo),
                 "r"(static_cast<uint32_t>(hi - lo))
                 : "memory");
  }
#endif
}

// The bytes of one row: its quants (or elements) and, for Q4_0 / Q8_0, its
// scales.
__device__ __forceinline__ void prefetch_row(const DeviceWeight& w, int64_t row) {
  const auto* base = static_cast<const uint8_t*>(w.q);
  switch (w.type) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_K:  // Q4_0-shaped: its headers are as many bytes as Q4_0's scales
    case GgmlType::Q8_0: {
      const int64_t bytes = w.type == GgmlType::Q8_0 ? w.in : w.in / 2;
      prefetch_l2(base + row * bytes, bytes);
      prefetch_l2(w.d + row * (w.in / 32), w.in / 32 * 2);
      return;
    }
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: {
      const int64_t nsb = w.in / 256, bytes = nsb * kquant_block_bytes(w.type);
      prefetch_l2(base + row * bytes, bytes);
      if (w.type == GgmlType::Q6_K) prefetch_l2(w.d + row * nsb, nsb * 2);
      return;
    }
    default: {
      const int64_t bytes = w.in * (w.type == GgmlType::F32 ? 4 : 2);
      prefetch_l2(base + row * bytes, bytes);
    }
  }
}

// What a matvec launch does after its products.
enum class Epilogue {
  kStore,    // y[k][row] = product
  kQkvRope,  // RoPE and the KV store (QkvRope)
  kAddRms,   // residual add and RMSNorm, factor pending (AddRmsOut)
};

// Everything an epilogue needs; each reads its own part.
struct EpilogueParams {
  QkvRope rope;
  AddRmsOut norm;
};

// The q/k/v epilogue (QkvRope): the block's four rows are two RoPE pairs
// of one head of one weight; thread p of warp 0 rotates pair p (q, k) and
// writes k and v into the cache. All that does not depend on the products
// (the position, the turn, the cache row) is formed before them, so its
// loads and its sine and cosine overlap the weight stream.
struct QkvRopeSlot {
  int64_t row = 0;
  bool rotated = false;  // q and k within the rotated dims
  float2 turn;           // cos, sin (times mscale)
  int64_t dst = 0;       // k, v: the element's index in the cache
};

__device__ QkvRopeSlot qkv_rope_slot(int k, int64_t row0, const QkvRope& r) {
  QkvRopeSlot s;
  s.row = row0 + 2 * threadIdx.x;
  const int64_t e = s.row % r.head_dim, pos = r.positions[0];
  s.rotated = k < 2 && e / 2 < r.rope.n_dims / 2;
  if (s.rotated) s.turn = rope_turn(r.rope, pos, e / 2);
  if (k > 0) s.dst = physical_row(r.kv.block_table, r.kv.page_size, pos) * r.kv.row_elems + s.row;
  return s;
}

__device__ void qkv_rope_epilogue(const MatvecGroup& g, int k, const QkvRopeSlot& s,
                                  const float (&vals)[kWarps], const QkvRope& r) {
  const int p = static_cast<int>(threadIdx.x);
  float2 v = make_float2(vals[2 * p], vals[2 * p + 1]);
  g.y[k][s.row] = v.x;
  g.y[k][s.row + 1] = v.y;
  if (s.rotated) v = rotate_pair(v, s.turn);
  if (k == 0) {
    g.y[0][s.row] = v.x;
    g.y[0][s.row + 1] = v.y;
    return;
  }
  void* cache = k == 1 ? r.kv.k : r.kv.v;
  if (r.kv.f16) {
    store_as(static_cast<__half*>(cache) + s.dst, v.x);
    store_as(static_cast<__half*>(cache) + s.dst + 1, v.y);
  } else {
    store_as(static_cast<float*>(cache) + s.dst, v.x);
    store_as(static_cast<float*>(cache) + s.dst + 1, v.y);
  }
}

// Rows of all weights of the group, one after another. The weights do not
// depend on earlier kernels, so each warp asks for its row before waiting on
// its predecessor (launch.cuh) and the weight stream starts during its tail.
// kQkvRope needs every block's rows valid.
template <GgmlType kType, Epilogue kEp, bool kMixed = false>
__global__ void matvec_kernel(MatvecGroup g, Activations a, EpilogueParams e) {
  int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.y;
  int k = 0;
  while (k < g.count && row >= g.w[k].out) row -= g.w[k++].out;
  if (k < g.count && threadIdx.x == 0) prefetch_row(g.w[k], row);
  pdl_start();
  const RmsFactor rms(a.rms);
  QkvRopeSlot slot;
  const bool rotates = kEp == Epilogue::kQkvRope && threadIdx.y == 0 && threadIdx.x < kWarps / 2;
  if (rotates && k < g.count) slot = qkv_rope_slot(k, row, e.rope);
  const float dot = k < g.count ? warp_sum(row_dot_of<kType, kMixed>(g.w[k], row, a)) : 0.0f;
  const float factor = rms.value();
  write_normed(a.rms, factor);
  if (k == g.count) return;
  const float acc = dot * factor;
  if constexpr (kEp == Epilogue::kQkvRope) {
    __shared__ float vals[kWarps];
    if (threadIdx.x == 0) vals[threadIdx.y] = acc;
    __syncthreads();
    if (rotates) qkv_rope_epilogue(g, k, slot, vals, e.rope);
  } else {
    if (threadIdx.x == 0) g.y[k][row] = acc;
  }
}

// The residual add and RMSNorm epilogue: one block per 32 outputs, a warp
// per output, so the block holds the whole group for its int8 copy and no
// other block is waited on. Its input has no pending factor (the partials
// it writes would be the ones that factor reads). (The gate/up products stay in 4-warp blocks: as
// 32-warp blocks with the activation as epilogue they were slower on H100
// than the separate gated kernel.)
constexpr int kGroupWarps = 32;  // 16 warps of two rows each: slower (H100)

// kPre (Q4_0, Q4_K): the warp's first pass over its row (kUnroll blocks per
// lane, the whole row up to kWholeQ4Row inputs) is loaded into registers
// before the wait, the weights being constant, so after it only the
// activations are waited for. On the H100 with o's rows (4096 inputs):
// 7B Q4_0 tg128 547-549 -> 550-554 t/s, 8B 486-490 -> 490; with down's
// wider rows too, 7B gained more (551-557) but 8B lost (483-484).
constexpr int64_t kWholeQ4Row = 32 * 32 * kUnroll;

// A streamed block of the launch after this one (4 warps of 64 registers,
// matvec_streamed.cu) fits beside a 32-warp block only at 56 registers or
// fewer (32 x 56 + 4 x 64 warp-registers fill the SM's 65,536); then it
// starts its weight copies before this launch ends. Q4_0 is at 54 as it
// stands. Q4_K and Q6_K were at 62-64, so they keep fewer loads in flight
// (Q4_K two blocks a lane, Q6_K one super-block step; o's preloaded Q4_K
// headers decoded to two floats a block while waiting) under a cap: on
// the H100, 7B Q4_K_M tg128 510-512 -> 525-527 t/s, 8B 454 -> 474-476.
constexpr int kNeighbourRegs = 56;

template <GgmlType kType>
constexpr bool kCappedAddRms = kType == GgmlType::Q4_K || kType == GgmlType::Q6_K;

template <GgmlType kType, bool kPre>
__device__ __forceinline__ void add_rms_body(const MatvecGroup& g, const Activations& a,
                                             const EpilogueParams& e) {
  constexpr bool kPreQ4K = kPre && kType == GgmlType::Q4_K;
  __shared__ float vals[kGroupWarps];
  const int64_t j = blockIdx.x, row = 32 * j + threadIdx.y, i = 32 * j + threadIdx.x;
  if (threadIdx.x == 0) prefetch_row(g.w[0], row);
  [[maybe_unused]] Q4Chunk<kType> first;
  [[maybe_unused]] float2 scales[kUnroll];  // kPreQ4K: first's, decoded
  [[maybe_unused]] const int64_t nb = g.w[0].in / 32;
  if constexpr (kPre) {
    const auto* qr =
        reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(g.w[0].q) + row * nb * 16);
    load_q4(qr, g.w[0].d + row * nb, nb, threadIdx.x, first);
  }
  if constexpr (kPreQ4K) {
    pdl_release();
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = threadIdx.x + 32 * u;
      if (b < nb) scales[u] = q4_k_scale(first.s[u], static_cast<int>(b & 7));
    }
    pdl_wait();
  } else {
    pdl_start();
  }
  float x = 0.0f, w = 0.0f;  // the residual and norm weight of lane i (warp 0)
  if (threadIdx.y == 0) {
    x = e.norm.x[i];
    w = __ldg(e.norm.w + i);
  }
  float part;
  if constexpr (kPreQ4K) {
    part = 0.0f;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = threadIdx.x + 32 * u;
      if (b < nb) {
        const int dot = dot_q4_0_block(first.q[u], a.xq[2 * b], a.xq[2 * b + 1]);
        const float2 xs = a.xs[b];
        part += scales[u].x * xs.x * static_cast<float>(dot) - scales[u].y * xs.y;
      }
    }
    // The launcher preloads only whole rows, so this adds nothing; one
    // block a lane keeps its registers out of the count.
    part += row_q4<kType, 1>(g.w[0], row, a, threadIdx.x + 32 * kUnroll);
  } else if constexpr (kPre) {
    part = dot_q4(first, nb, threadIdx.x, a) +
           row_q4<kType>(g.w[0], row, a, threadIdx.x + 32 * kUnroll);
  } else if constexpr (kType == GgmlType::Q4_K) {
    part = row_q4<kType, 2>(g.w[0], row, a);
  } else if constexpr (kType == GgmlType::Q6_K) {
    part = row_q6_k<1>(g.w[0], row, a);
  } else {
    part = row_dot<kType>(g.w[0], row, a);
  }
  const float dot = warp_sum(part);
  if (threadIdx.x == 0) vals[threadIdx.y] = dot;
  __syncthreads();
  if (threadIdx.y != 0) return;
  const float p = vals[threadIdx.x];
  g.y[0][i] = p;
  const float h = x + p;
  e.norm.x[i] = h;
  const float z = h * w;
  e.norm.y[i] = z;
  quantize_warp(z, 32 * j, e.norm.q8);
  const float ss = warp_sum(h * h);
  if (threadIdx.x == 0) e.norm.parts[j] = ss;
}

template <GgmlType kType, bool kPre = false>
__global__ void __launch_bounds__(32 * kGroupWarps)
    matvec_add_rms_kernel(MatvecGroup g, Activations a, EpilogueParams e) {
  add_rms_body<kType, kPre>(g, a, e);
}

// (A cap cannot share a kernel with __launch_bounds__.)
template <GgmlType kType, bool kPre = false>
__global__ void __maxnreg__(kNeighbourRegs)
    matvec_add_rms_capped_kernel(MatvecGroup g, Activations a, EpilogueParams e) {
  add_rms_body<kType, kPre>(g, a, e);
}

using MatvecKernel = void (*)(MatvecGroup, Activations, EpilogueParams);

// The instantiated kernels: one per type of kDeviceWeightTypes for the
// store and q/k/v epilogues; the norm epilogue only for the types that
// read q8_1 activations (it hands its output over as q8_1).
template <Epilogue kEp, size_t... I>
MatvecKernel kernel_from_list(GgmlType type, std::index_sequence<I...>) {
  MatvecKernel k = nullptr;
  ((type == kDeviceWeightTypes[I] ? (k = matvec_kernel<kDeviceWeightTypes[I], kEp>, 0) : 0), ...);
  return k;
}

constexpr GgmlType kQ8InputTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K,
                                      GgmlType::Q5_K, GgmlType::Q6_K};

template <GgmlType kType, bool kPre = false>
constexpr MatvecKernel add_rms_kernel_of() {
  if constexpr (kCappedAddRms<kType>) {
    return matvec_add_rms_capped_kernel<kType, kPre>;
  } else {
    return matvec_add_rms_kernel<kType, kPre>;
  }
}

template <size_t... I>
MatvecKernel add_rms_kernel_from_list(GgmlType type, std::index_sequence<I...>) {
  MatvecKernel k = nullptr;
  ((type == kQ8InputTypes[I] ? (k = add_rms_kernel_of<kQ8InputTypes[I]>(), 0) : 0), ...);
  return k;
}

MatvecKernel matvec_kernel_for(GgmlType type, Epilogue ep, bool mixed) {
  constexpr auto kTypes = std::make_index_sequence<std::size(kDeviceWeightTypes)>{};
  constexpr auto kQ8Types = std::make_index_sequence<std::size(kQ8InputTypes)>{};
  if (mixed && ep == Epilogue::kStore) return matvec_kernel<GgmlType::Q4_0, Epilogue::kStore, true>;
  if (mixed && ep == Epilogue::kQkvRope) {
    return matvec_kernel<GgmlType::Q4_0, Epilogue::kQkvRope, true>;
  }
  MatvecKernel k = nullptr;
  switch (ep) {
    case Epilogue::kStore:
      k = kernel_from_list<Epilogue::kStore>(type, kTypes);
      break;
    case Epilogue::kQkvRope:
      k = kernel_from_list<Epilogue::kQkvRope>(type, kTypes);
      break;
    case Epilogue::kAddRms:
      k = add_rms_kernel_from_list(type, kQ8Types);
      break;
  }
  if (k == nullptr) {
    throw Error("CUDA matvec: no kernel for " + std::string(ggml_type_name(type)) +
                " weights (supported: " + device_weight_type_names() + ")");
  }
  return k;
}

void launch_group(const MatvecGroup& g, const MatvecInput& in, Epilogue ep, const EpilogueParams& e,
                  cudaStream_t s) {
  const MatvecKernel kernel = matvec_kernel_for(g.w[0].type, ep, !matvec_one_type(g));
  if (ep == Epilogue::kAddRms) {
    // Q4_0 / Q4_K rows that one pass of the warp covers (o's) are loaded whole
    // before the wait (see the kernel).
    const GgmlType t = g.w[0].type;
    if ((t == GgmlType::Q4_0 || t == GgmlType::Q4_K) && g.w[0].in <= kWholeQ4Row) {
      launch(t == GgmlType::Q4_0 ? add_rms_kernel_of<GgmlType::Q4_0, true>()
                                 : add_rms_kernel_of<GgmlType::Q4_K, true>(),
             dim3(static_cast<unsigned>(g.w[0].out / 32)), dim3(32, kGroupWarps), 0, s, g,
             activations(in), e);
      return;
    }
    launch(kernel, dim3(static_cast<unsigned>(g.w[0].out / 32)), dim3(32, kGroupWarps), 0, s, g,
           activations(in), e);
    return;
  }
  int64_t rows = 0;
  for (int k = 0; k < g.count; ++k) rows += g.w[k].out;
  launch(kernel, dim3(static_cast<unsigned>((rows + kWarps - 1) / kWarps)), dim3(32, kWarps), 0, s,
         g, activations(in), e);
}

}  // namespace

bool matvec_needs_q8_1(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q8_0:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

bool matvec_all_q8_1(const MatvecGroup& g) {
  for (int k = 0; k < g.count; ++k) {
    if (!matvec_needs_q8_1(g.w[k].type)) return false;
  }
  return true;
}

bool matvec_one_type(const MatvecGroup& g) {
  for (int k = 1; k < g.count; ++k) {
    if (g.w[k].type != g.w[0].type) return false;
  }
  return true;
}

void quantize_q8_1(const float* x, int64_t n, int64_t in, int8_t* xq, float* xs, cudaStream_t s) {
  const int64_t n_blocks = n * in / 32;
  const dim3 block(32, kWarps);
  launch(quantize_q8_1_kernel, dim3(static_cast<unsigned>((n_blocks + kWarps - 1) / kWarps)), block,
         0, s, x, n_blocks, xq, reinterpret_cast<float2*>(xs));
}

// A group of one weight type, or of quantized types only, is one launch;
// another mixed group one launch per weight, the first of them writing the
// normed input a pending RMS factor leaves behind.
void matvec(const MatvecGroup& g, const MatvecInput& in, cudaStream_t s) {
  if (matvec_streamed(g, in, s)) return;
  if (matvec_one_type(g) || matvec_all_q8_1(g)) {
    launch_group(g, in, Epilogue::kStore, {}, s);
    return;
  }
  MatvecInput each = in;
  for (int k = 0; k < g.count; ++k) {
    MatvecGroup one;
    one.w[0] = g.w[k];
    one.y[0] = g.y[k];
    one.count = 1;
    launch_group(one, each, Epilogue::kStore, {}, s);
    each.rms.y_out = nullptr;
  }
}

void matvec_qkv_rope(const MatvecGroup& g, const MatvecInput& in, const QkvRope& r,
                     cudaStream_t s) {
  bool fits = g.count == 3 && !r.rope.neox && r.head_dim % 4 == 0 &&
              (matvec_one_type(g) || matvec_all_q8_1(g));
  for (int k = 0; k < g.count; ++k) fits = fits && g.w[k].out % r.head_dim == 0;
  if (!fits) {
    throw Error(
        "CUDA q/k/v RoPE epilogue: needs three weights of one type or quantized ones, head_dim "
        "a multiple of 4 and rows in whole heads, RoPE not NeoX");
  }
  if (matvec_streamed_qkv_rope(g, in, r, s)) return;
  EpilogueParams e;
  e.rope = r;
  launch_group(g, in, Epilogue::kQkvRope, e, s);
}

void matvec_add_rms(const MatvecGroup& g, const MatvecInput& in, const AddRmsOut& norm,
                    cudaStream_t s) {
  if (g.count != 1 || g.w[0].out % 32 != 0 || !matvec_needs_q8_1(g.w[0].type) ||
      in.rms.parts != nullptr) {
    throw Error(
        "CUDA matvec residual-add and RMSNorm epilogue: needs one quantized weight with outputs "
        "a multiple of 32 and an input without a pending norm factor");
  }
  EpilogueParams e;
  e.norm = norm;
  launch_group(g, in, Epilogue::kAddRms, e, s);
}

}  // namespace ma::cuda
