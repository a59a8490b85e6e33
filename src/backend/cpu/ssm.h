// Fast float32 state-space ops: the causal depthwise conv1d with its tail
// state, Mamba's selective scan and Mamba-2's SSD scan. Same contracts as the
// fp64 references in ops/reference_ssm.h.
//
// Each scan has two paths with one signature. The sequential path splits
// channels over the thread pool and runs each channel's tokens in order (a
// prefill of T tokens is T decode steps). The chunked path splits the tokens
// into chunks that run in parallel and hands the state from chunk to chunk
// (ssd_chunked.cpp, selective_scan_chunked.cpp). The plain names choose the
// faster path for the shape, by the thresholds measured in ssm.cpp.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "ops/reference_ssm.h"

namespace ma::cpu {

// Longest conv kernel the fast op takes (Mamba uses 4).
inline constexpr int64_t kMaxConvKernel = 16;

// How a chunked scan cuts the tokens: chunks of chunk_len tokens, and at most
// window_chunks chunks in flight between two state hand-offs (their states
// are buffered; 0 sizes the window to keep that buffer near 16 MB).
struct ScanChunking {
  int64_t chunk_len = 64;
  int64_t window_chunks = 0;
};
inline constexpr ScanChunking kSsdChunking{64, 0};
inline constexpr ScanChunking kSelectiveChunking{128, 0};

// See ref::causal_conv1d. tail: [(K-1) x C], updated; y: [T x C].
void causal_conv1d(ThreadPool& pool, const float* x, int64_t x_stride, int64_t n_tokens,
                   int64_t channels, const float* w, int64_t kernel, const float* bias, float* tail,
                   float* y);

// See ref::selective_scan. state: [D x N], updated; y: [T x D].
void selective_scan(ThreadPool& pool, const float* x, const float* dt, const float* a,
                    const float* b, const float* c, int64_t bc_stride, const float* skip,
                    int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state, float* y);
void selective_scan_sequential(ThreadPool& pool, const float* x, const float* dt, const float* a,
                               const float* b, const float* c, int64_t bc_stride, const float* skip,
                               int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state,
                               float* y);
void selective_scan_chunked(ThreadPool& pool, const float* x, const float* dt, const float* a,
                            const float* b, const float* c, int64_t bc_stride, const float* skip,
                            int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state,
                            float* y, ScanChunking chunking = kSelectiveChunking);

// See ref::ssd_scan (Mamba-2). state: [H x P x N], updated; y: [T x H*P].
void ssd_scan(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt, const float* a,
              const float* b, const float* c, int64_t bc_stride, const float* skip,
              int64_t n_tokens, const ref::SsdShape& s, float* state, float* y);
void ssd_scan_sequential(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt,
                         const float* a, const float* b, const float* c, int64_t bc_stride,
                         const float* skip, int64_t n_tokens, const ref::SsdShape& s, float* state,
                         float* y);
void ssd_scan_chunked(ThreadPool& pool, const float* x, int64_t x_stride, const float* dt,
                      const float* a, const float* b, const float* c, int64_t bc_stride,
                      const float* skip, int64_t n_tokens, const ref::SsdShape& s, float* state,
                      float* y, ScanChunking chunking = kSsdChunking);

float softplus(float x);
float silu(float x);

}  // namespace ma::cpu
