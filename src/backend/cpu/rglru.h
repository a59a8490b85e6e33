// Fast float32 RG-LRU (Griffin / RecurrentGemma) with the contract of
// ref::rglru. Batched in two passes: first both block-diagonal gates of every
// token, (token, block) pairs split over the thread pool; then the recurrence,
// channels split over the pool and each channel's tokens in order, so a
// prefill of T tokens equals T decode steps.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "ops/reference_rglru.h"

namespace ma::cpu {

// x: [T x W]; gates: scratch of 2 * T * W floats; state: [W], updated; y: [T x W].
void rglru(ThreadPool& pool, const float* x, const int64_t* positions, int64_t n_tokens,
           const ref::RgLruParams& p, float* gates, float* state, float* y);

}  // namespace ma::cpu
