// Flash attention on tensor cores (16-bit operands, fp32 accumulation,
// online softmax in registers): a block owns a tile of queries of one head
// and walks the key tiles from the last to the first. Two kernels: mma.sync
// m16n8k16 (FA2-style, every head dim, any GPU the build targets) and, for
// head dim 128 on Hopper (sm_90a), wgmma with two warpgroups (FA3-style).
// Two entries share them: the engine's prefill over the paged F16 KV cache,
// and contiguous bf16 tensors for the benchmark against torch.
#pragma once

#include <cstdint>
#include <string>

#include "backend/cuda/kernels.h"

namespace ma::cuda {

// Head dims the kernels are instantiated for (flash_attention.cu lists the
// instantiations in one place); others get an ma::Error naming these.
bool flash_supports_head_dim(int64_t head_dim);
std::string flash_supported_head_dims();

// Prefill over the paged cache: q float [n x n_head x head_dim] at ascending
// positions (converted to f16 as its tile loads), K/V f16 pages read through
// the block table (GQA by head index), out float [n x n_head x head_dim].
// Causal, with shape.window and shape.softcap. kv.f16 must be set. Head
// dim 128 on compute capability 9.0 with more than 64 queries takes the
// wgmma kernel.
void flash_attention_paged(const KvLayerDevice& kv, const float* q, int64_t n,
                           const int64_t* positions, const ref::AttentionShape& shape, float* out,
                           cudaStream_t s);

// The contiguous entry's kernels (each a separate instantiation; the
// benchmark times them all): mma.sync with 64-key tiles, and Hopper's
// wgmma (sm_90a, compute capability 9.0 only) with 128-key tiles.
enum class FlashTile {
  k64x4,      // 64 query rows, 4 warps of 16 rows, 3 blocks per multiprocessor
  k128x4,     // 128 query rows, 4 warps of 32 rows (FA2's shape), 2 blocks
  kWgmma128,  // 128 query rows, 2 warpgroups of 64 (FA3's shape), 1 block
};
inline constexpr FlashTile kFlashTiles[] = {FlashTile::k64x4, FlashTile::k128x4,
                                            FlashTile::kWgmma128};
const char* flash_tile_name(FlashTile tile);
// Whether this build and the current device run the tile's kernel.
bool flash_tile_supported(FlashTile tile);

// Causal attention on contiguous bf16 tensors (raw bits): q and out
// [n_head x n x head_dim], k and v [n_head_kv x n x head_dim]; query i sees
// keys [0, i]. head_dim 128 only.
void flash_attention_bf16(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t n_head,
                          int64_t n_head_kv, int64_t n, int64_t head_dim, float scale,
                          uint16_t* out, FlashTile tile, cudaStream_t s);

}  // namespace ma::cuda
