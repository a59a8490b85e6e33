// Fast float32 state-space ops: the causal depthwise conv1d with its tail
// state and Mamba's selective scan. Same contracts as the fp64 references in
// ops/reference_ssm.h; channels are split over the thread pool, and each
// channel runs its tokens in order (a prefill of T tokens equals T decode steps).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "ops/reference_ssm.h"

namespace ma::cpu {

// Longest conv kernel the fast op takes (Mamba uses 4).
inline constexpr int64_t kMaxConvKernel = 16;

// See ref::causal_conv1d. tail: [(K-1) x C], updated; y: [T x C].
void causal_conv1d(ThreadPool& pool, const float* x, int64_t x_stride, int64_t n_tokens,
                   int64_t channels, const float* w, int64_t kernel, const float* bias, float* tail,
                   float* y);

// See ref::selective_scan. state: [D x N], updated; y: [T x D].
void selective_scan(ThreadPool& pool, const float* x, const float* dt, const float* a,
                    const float* b, const float* c, int64_t bc_stride, const float* skip,
                    int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state, float* y);

// See ref::ssd_scan (Mamba-2). state: [H x P x N], updated; y: [T x H*P].
void ssd_scan(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt, const float* a,
              const float* b, const float* c, int64_t bc_stride, const float* skip,
              int64_t n_tokens, const ref::SsdShape& s, float* state, float* y);

float softplus(float x);
float silu(float x);

}  // namespace ma::cpu
