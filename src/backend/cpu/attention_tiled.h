// Prompt-processing attention on the CPU: the queries of several tokens and
// all heads sharing one KV head form a tile, so each cached key/value row is
// converted to float once per tile and the two products (scores = Q K^T,
// out = P V) run through the register-blocked small GEMM instead of one
// vector dot / axpy per (query, key) pair.
#pragma once

#include <cstdint>

#include "backend/cpu/ops.h"

namespace ma::cpu {

// Same contract as attention_paged (ops.h); used there for batches of queries.
void attention_tiled(ThreadPool& pool, const float* q, const int64_t* q_pos, int64_t n_q,
                     const KvLayerView& kv, int64_t n_kv, const ref::AttentionShape& shape,
                     float* out, AttentionScratch& scratch);

}  // namespace ma::cpu
