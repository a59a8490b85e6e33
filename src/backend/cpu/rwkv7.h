// Fast float32 RWKV-7 wkv kernels: the generalized delta rule of
// ops/reference_rwkv7.h (same layouts, same contract), in two forms that
// give the same results:
//   - recurrent: one token after another (decode);
//   - chunked: kRwkv7Chunk tokens at a time in the WY / UT form, where the
//     low-rank updates of a chunk become small triangular matrix products
//     (prefill).
// Heads are split over the thread pool (a head's state, 16 KiB at the usual
// head size of 64, stays in one core's L1 cache).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace ma::cpu {

inline constexpr int64_t kRwkv7MaxHeadSize = 128;
inline constexpr int64_t kRwkv7Chunk = 16;

// Inputs of T tokens, each [T x C] with C = n_head * head_size.
struct Rwkv7WkvInputs {
  const float* r = nullptr;  // receptance
  const float* w = nullptr;  // decay per key channel, in (0, 1]
  const float* k = nullptr;  // key
  const float* v = nullptr;  // value
  const float* a = nullptr;  // removal direction (RWKV-7: -kk)
  const float* b = nullptr;  // replacement scale (RWKV-7: kk * iclr)
};

struct Rwkv7WkvShape {
  int64_t n_tokens = 0;
  int64_t n_head = 0;
  int64_t head_size = 0;  // at most kRwkv7MaxHeadSize
};

// state: [H x N x N] (key rows, value columns), updated; y: [T x C].
void rwkv7_wkv_recurrent(ThreadPool& pool, const Rwkv7WkvInputs& in, const Rwkv7WkvShape& s,
                         float* state, float* y);

// Same result as the recurrent form. Within a chunk the cumulative decay is
// divided out of the keys (k / prod w) and multiplied into the queries, which
// is exact up to rounding as long as prod w stays a normal float over a
// chunk: RWKV-7's decays are exp(-0.607 sigmoid(.)) >= 0.545, so 1 / prod w
// stays below 2^14 over 16 tokens.
void rwkv7_wkv_chunked(ThreadPool& pool, const Rwkv7WkvInputs& in, const Rwkv7WkvShape& s,
                       float* state, float* y);

}  // namespace ma::cpu
