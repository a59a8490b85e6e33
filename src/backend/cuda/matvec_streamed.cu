// Streamed decode products (Q4_0): a persistent grid whose blocks each take
// a contiguous run of kStreamTile-row tiles, the tiles' quants and scales
// brought into shared memory by bulk copies kStreamStages ahead
// (bulk_copy.cuh). No registers hold bytes in flight, so a block is small
// (4 warps) and fits beside the 32-warp add-and-norm blocks of the launch
// before it (matvec_add_rms_kernel): there it asks for its first tiles
// before waiting on its predecessor, and the weight stream runs through the
// boundary between the two launches. On the H100 this took the 7B gate/up
// product from 22.1 to 18.3 us, where the one-warp-per-row kernel's blocks
// could only start once the add-and-norm blocks had left their SMs.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backend/cuda/bulk_copy.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/matvec_common.cuh"

namespace ma::cuda {
namespace {

// Each warp multiplies two rows of a tile against the activations, which
// are copied into shared memory once per block.
constexpr int kStreamWarps = 4;
constexpr int kStreamRows = 2;  // per warp and tile
constexpr int kStreamTile = kStreamWarps * kStreamRows;
constexpr int kStreamStages = 4;

struct StreamLayout {
  uint32_t q_bytes = 0, stage_bytes = 0;
  size_t smem = 0;
};

__host__ __device__ inline StreamLayout stream_layout(int64_t in) {
  const int64_t nb = in / 32;
  StreamLayout l;
  l.q_bytes = static_cast<uint32_t>(kStreamTile * nb * 16);
  l.stage_bytes = l.q_bytes + static_cast<uint32_t>(kStreamTile * nb * 2);
  l.smem = 128 + static_cast<size_t>(kStreamStages) * l.stage_bytes + static_cast<size_t>(nb) * 40;
  return l;
}

__global__ void __launch_bounds__(32 * kStreamWarps)
    matvec_streamed_q4_0(MatvecGroup g, Activations a, int64_t tiles) {
  extern __shared__ __align__(128) uint8_t smem[];
  const int lane = static_cast<int>(threadIdx.x), warp = static_cast<int>(threadIdx.y);
  const int64_t in = g.w[0].in, nb = in / 32;
  const StreamLayout l = stream_layout(in);
  auto* full = reinterpret_cast<uint64_t*>(smem);
  uint8_t* stages = smem + 128;
  auto* xq = reinterpret_cast<int4*>(stages + kStreamStages * l.stage_bytes);
  auto* xs = reinterpret_cast<float2*>(xq + 2 * nb);
  const int64_t first = tiles * blockIdx.x / gridDim.x;
  const int64_t mine = tiles * (blockIdx.x + 1) / gridDim.x - first;
  const bool leader = lane == 0 && warp == 0;
  // Tile t of the group: weight k, its first row.
  auto locate = [&](int64_t t, int* k) {
    int64_t row = t * kStreamTile;
    *k = 0;
    while (*k < g.count - 1 && row >= g.w[*k].out) row -= g.w[(*k)++].out;
    return row;
  };
  auto issue = [&](int64_t i) {
    int k = 0;
    const int64_t row0 = locate(first + i, &k);
    const DeviceWeight& w = g.w[k];
    uint8_t* st = stages + (i % kStreamStages) * l.stage_bytes;
    uint64_t* bar = &full[i % kStreamStages];
    mbarrier_expect_bytes(bar, l.stage_bytes);
    bulk_copy_to_shared(st, static_cast<const uint8_t*>(w.q) + row0 * nb * 16, l.q_bytes, bar);
    bulk_copy_to_shared(st + l.q_bytes, w.d + row0 * nb, l.stage_bytes - l.q_bytes, bar);
  };
  if (leader) {
    for (int s = 0; s < kStreamStages; ++s) mbarrier_init(&full[s], 1);
    mbarrier_init_fence();
    for (int64_t i = 0; i < kStreamStages && i < mine; ++i) issue(i);
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
    const uint8_t* st = stages + (i % kStreamStages) * l.stage_bytes;
    mbarrier_wait(&full[i % kStreamStages], static_cast<uint32_t>((i / kStreamStages) & 1));
    float acc[kStreamRows] = {};
    for (int64_t b = lane; b < nb; b += 32) {
      const int4 lo = xq[2 * b], hi = xq[2 * b + 1];
      const float2 x = xs[b];
#pragma unroll
      for (int r = 0; r < kStreamRows; ++r) {
        const int64_t e = (warp * kStreamRows + r) * nb + b;  // block of the tile
        const uint4 q = *reinterpret_cast<const uint4*>(st + e * 16);
        const uint16_t d = *reinterpret_cast<const uint16_t*>(st + l.q_bytes + e * 2);
        const int sdot = dot_q4_0_block(q, lo, hi);
        // Quants are stored +8: sum (q - 8) x = sum q x - 8 sum x.
        acc[r] += half_bits_to_float(d) * (x.x * static_cast<float>(sdot) - 8.0f * x.y);
      }
    }
    int k = 0;
    const int64_t row0 = locate(first + i, &k);
#pragma unroll
    for (int r = 0; r < kStreamRows; ++r) {
      const float v = warp_sum(acc[r]);
      if (lane == 0) g.y[k][row0 + warp * kStreamRows + r] = v * factor;
    }
    __syncthreads();  // the stage is read: it may be refilled
    if (leader && i + kStreamStages < mine) {
      fence_async_shared();
      issue(i + kStreamStages);
    }
  }
}

// The engine runs on one device: its limits are read once.
struct DeviceLimits {
  int sms = 0, smem_optin = 0;
};
const DeviceLimits& device_limits() {
  static const DeviceLimits limits = [] {
    DeviceLimits l;
    int dev = 0;
    MA_CUDA_CHECK(cudaGetDevice(&dev));
    MA_CUDA_CHECK(cudaDeviceGetAttribute(&l.sms, cudaDevAttrMultiProcessorCount, dev));
    MA_CUDA_CHECK(
        cudaDeviceGetAttribute(&l.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    return l;
  }();
  return limits;
}

// Whether the streamed kernel takes the group: all Q4_0 with q8_1 input,
// whole tiles, its shared memory within the card's limit, and not turned
// off (MA_CUDA_STREAMED=0, for comparisons).
bool streamed_fits(const MatvecGroup& g, const MatvecInput& in) {
  static const bool enabled = [] {
    const char* v = std::getenv("MA_CUDA_STREAMED");
    return v == nullptr || std::string(v) != "0";
  }();
  if (!enabled || in.xq == nullptr) return false;
  for (int k = 0; k < g.count; ++k) {
    const DeviceWeight& w = g.w[k];
    const bool aligned =  // bulk copies move 16-byte multiples
        reinterpret_cast<uintptr_t>(w.q) % 16 == 0 && reinterpret_cast<uintptr_t>(w.d) % 16 == 0;
    if (w.type != GgmlType::Q4_0 || w.in != g.w[0].in || w.out % kStreamTile != 0 || !aligned) {
      return false;
    }
  }
  return stream_layout(g.w[0].in).smem <= static_cast<size_t>(device_limits().smem_optin);
}

}  // namespace

bool matvec_streamed(const MatvecGroup& g, const MatvecInput& in, cudaStream_t s) {
  if (!streamed_fits(g, in)) return false;
  // As many blocks as fit on the card at once (the grid is persistent).
  const size_t smem = stream_layout(g.w[0].in).smem;
  static size_t granted = 0, sized = 0;
  static int per_sm = 0;
  if (smem > granted) {
    MA_CUDA_CHECK(cudaFuncSetAttribute(
        matvec_streamed_q4_0, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    granted = smem;
  }
  if (smem != sized) {
    MA_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, matvec_streamed_q4_0,
                                                                32 * kStreamWarps, smem));
    sized = smem;
  }
  int64_t tiles = 0;
  for (int k = 0; k < g.count; ++k) tiles += g.w[k].out / kStreamTile;
  const int64_t grid =
      std::min<int64_t>(tiles, static_cast<int64_t>(std::max(per_sm, 1)) * device_limits().sms);
  launch(matvec_streamed_q4_0, dim3(static_cast<unsigned>(grid)), dim3(32, kStreamWarps), smem, s,
         g, activations(in), tiles);
  return true;
}

}  // namespace ma::cuda
