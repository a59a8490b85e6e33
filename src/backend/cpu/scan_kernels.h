// Pieces shared by the sequential and chunked scans (ssm.cpp,
// ssd_chunked.cpp, selective_scan_chunked.cpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ma::cpu::scan {

// Per-thread scratch that grows and is kept: the pool's threads persist, so
// a prefill allocates (and faults in) its buffers only the first time.
// Slots keep a thread's buffers apart; a pointer stays valid until the same
// slot and type are asked for again on the same thread.
enum ScratchSlot : int {
  kWindowStates,  // the calling thread: chunk states of one window
  kWindowSmall,   // the calling thread: per-chunk scalars of one window
  kCarry,         // the calling thread: the state handed between windows
  kGram,          // the calling thread: C B^T per chunk and group
  kItem,          // any thread: scratch of one work item
  kScratchSlots
};
template <typename T = float>
T* scratch(ScratchSlot slot, size_t n) {
  thread_local std::vector<T> buffers[kScratchSlots];
  auto& v = buffers[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

// One Mamba-1 channel over n tokens, from state h [N] (updated):
//   h = exp(dt A) h + dt B x;  y = C.h + skip x.
// x and dt step by `stride` per token, B and C by bc_stride; y (stride
// `stride`) may be null to only advance the state.
inline void selective_scan_channel(const float* x, const float* dt, int64_t stride,
                                   const float* a_row, const float* b, const float* c,
                                   int64_t bc_stride, float skip, int64_t n, int64_t d_state,
                                   float* h, float* y) {
  for (int64_t t = 0; t < n; ++t) {
    const float xv = x[t * stride];
    const float dtv = dt[t * stride];
    const float dtx = dtv * xv;
    const float* bt = b + t * bc_stride;
    const float* ct = c + t * bc_stride;
    if (y == nullptr) {
      for (int64_t s = 0; s < d_state; ++s) h[s] = std::exp(dtv * a_row[s]) * h[s] + dtx * bt[s];
      continue;
    }
    float acc = 0.0f;
    for (int64_t s = 0; s < d_state; ++s) {
      h[s] = std::exp(dtv * a_row[s]) * h[s] + dtx * bt[s];
      acc += ct[s] * h[s];
    }
    y[t * stride] = acc + skip * xv;
  }
}

}  // namespace ma::cpu::scan
