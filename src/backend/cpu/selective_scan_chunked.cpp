// Mamba-1's selective scan with the tokens cut into chunks that run in
// parallel. Every channel's state evolves as h <- exp(dt A) h + dt B x, a
// linear recurrence, so a chunk run from a zero state ends at
//   h_out = exp(A * sum dt) h_in + (its own end state),
// and the states entering the chunks follow from one cheap pass in order.
// Then every chunk reruns from its true entering state, writing outputs
// (rerunning costs as much as correcting the outputs would, since both need
// exp(dt A) per token, and it repeats the sequential arithmetic exactly).
// Work is about 2 - 1/chunks scans instead of one, so it pays only where
// the channels alone cannot keep the threads busy: see ssm.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "backend/cpu/scan_kernels.h"
#include "backend/cpu/ssm.h"
#include "core/error.h"

namespace ma::cpu {
namespace {

// Chunk states of one window: about 16 MB, however long the prompt.
constexpr int64_t kWindowStateFloats = int64_t{1} << 22;
// Channels per work item: x and dt rows are read a cache line at a time.
constexpr int64_t kChannelBlock = 16;

}  // namespace

void selective_scan_chunked(ThreadPool& pool, const float* x, const float* dt, const float* a,
                            const float* b, const float* c, int64_t bc_stride, const float* skip,
                            int64_t n_tokens, int64_t d_inner, int64_t d_state, float* state,
                            float* y, ScanChunking chunking) {
  if (chunking.chunk_len < 1 || chunking.window_chunks < 0) {
    throw Error("selective_scan_chunked: invalid chunking (chunk_len " +
                std::to_string(chunking.chunk_len) + ", window_chunks " +
                std::to_string(chunking.window_chunks) + ")");
  }
  if (n_tokens <= 0) return;
  const int64_t D = d_inner, N = d_state, L = chunking.chunk_len;
  const int64_t n_chunks = (n_tokens + L - 1) / L;
  const int64_t n_blocks = (D + kChannelBlock - 1) / kChannelBlock;
  int64_t window = chunking.window_chunks;
  if (window == 0) window = std::max<int64_t>(1, kWindowStateFloats / (D * N));
  window = std::min(window, n_chunks);

  const auto n = [](int64_t v) { return static_cast<size_t>(v); };
  float* starts = scan::scratch(scan::kWindowStates, n(window * D * N));  // [W x D x N]
  float* dt_sums = scan::scratch(scan::kWindowSmall, n(window * D));      // [W x D]

  for (int64_t w0 = 0; w0 < n_chunks; w0 += window) {
    const int64_t nw = std::min(window, n_chunks - w0);
    const auto first_token = [&](int64_t ch) { return (w0 + ch) * L; };
    const auto length = [&](int64_t ch) { return std::min(L, n_tokens - first_token(ch)); };
    const auto channels = [&](int64_t blk) {
      return std::pair{blk * kChannelBlock, std::min(D, (blk + 1) * kChannelBlock)};
    };

    // 1. Every chunk but the window's last runs from zero to its end state.
    pool.parallel_for((nw - 1) * n_blocks, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t ch = j / n_blocks, t0 = first_token(ch), len = length(ch);
        const auto [d0, d1] = channels(j % n_blocks);
        for (int64_t d = d0; d < d1; ++d) {
          float* h = starts + (ch * D + d) * N;
          std::memset(h, 0, n(N) * sizeof(float));
          const float* dtd = dt + t0 * D + d;
          scan::selective_scan_channel(x + t0 * D + d, dtd, D, a + d * N, b + t0 * bc_stride,
                                       c + t0 * bc_stride, bc_stride, 0.0f, len, N, h, nullptr);
          float sum = 0.0f;
          for (int64_t l = 0; l < len; ++l) sum += dtd[l * D];
          dt_sums[ch * D + d] = sum;
        }
      }
    });

    // 2. The hand-off in order: each chunk's slot receives the state entering
    //    it; `state` ends holding the one entering the window's last chunk.
    pool.parallel_for(D, [&](int64_t d0, int64_t d1) {
      for (int64_t d = d0; d < d1; ++d) {
        float* h = state + d * N;
        for (int64_t ch = 0; ch + 1 < nw; ++ch) {
          float* st = starts + (ch * D + d) * N;
          const float sum = dt_sums[ch * D + d];
          for (int64_t s = 0; s < N; ++s) {
            const float own = st[s];
            st[s] = h[s];
            h[s] = std::exp(a[d * N + s] * sum) * h[s] + own;
          }
        }
      }
    });

    // 3. Every chunk reruns from its entering state with outputs; the last
    //    runs on `state` itself, which so reaches the window's end.
    pool.parallel_for(nw * n_blocks, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t ch = j / n_blocks, t0 = first_token(ch), len = length(ch);
        const auto [d0, d1] = channels(j % n_blocks);
        for (int64_t d = d0; d < d1; ++d) {
          float* h = ch + 1 == nw ? state + d * N : starts + (ch * D + d) * N;
          scan::selective_scan_channel(x + t0 * D + d, dt + t0 * D + d, D, a + d * N,
                                       b + t0 * bc_stride, c + t0 * bc_stride, bc_stride, skip[d],
                                       len, N, h, y + t0 * D + d);
        }
      }
    });
  }
}

}  // namespace ma::cpu
