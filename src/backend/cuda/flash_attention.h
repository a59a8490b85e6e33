// Flash attention on tensor cores (mma.sync m16n8k16, 16-bit operands, fp32
// accumulation, online softmax in registers), FA2-style: a block owns a tile
// of queries of one head and walks the key tiles from the last to the first.
// Two entries share the kernel: the engine's prefill over the paged F16 KV
// cache, and contiguous bf16 tensors for the benchmark against torch.
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
// Causal, with shape.window and shape.softcap. kv.f16 must be set.
void flash_attention_paged(const KvLayerDevice& kv, const float* q, int64_t n,
                           const int64_t* positions, const ref::AttentionShape& shape, float* out,
                           cudaStream_t s);

// Query rows per thread block of the contiguous entry (each a separate
// instantiation with 64-key tiles; the benchmark times both).
enum class FlashTile {
  k64x4,   // 64 query rows, 4 warps of 16 rows, 3 blocks per multiprocessor
  k128x4,  // 128 query rows, 4 warps of 32 rows (FA2's shape), 2 blocks
};
inline constexpr FlashTile kFlashTiles[] = {FlashTile::k64x4, FlashTile::k128x4};
const char* flash_tile_name(FlashTile tile);

// Causal attention on contiguous bf16 tensors (raw bits): q and out
// [n_head x n x head_dim], k and v [n_head_kv x n x head_dim]; query i sees
// keys [0, i]. head_dim 128 only.
void flash_attention_bf16(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t n_head,
                          int64_t n_head_kv, int64_t n, int64_t head_dim, float scale,
                          uint16_t* out, FlashTile tile, cudaStream_t s);

}  // namespace ma::cuda
