// Perplexity the way llama.cpp's llama-perplexity computes it, so numbers
// compare: the text is tokenized once (with BOS), cut into non-overlapping
// windows of n_ctx tokens, the first token of each window is replaced by BOS,
// and only the second half of each window is scored.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/session.h"

namespace ma {

struct PerplexityResult {
  double ppl = 0;
  double ppl_error = 0;  // llama.cpp's uncertainty estimate
  int64_t n_chunks = 0;
  int64_t n_scored = 0;
  std::vector<double> running_ppl;  // after each chunk
};

// on_chunk(i, running_ppl) is called after each window.
PerplexityResult perplexity(Session& session, const std::vector<int32_t>& tokens, int64_t n_ctx,
                            const std::function<void(int64_t, double)>& on_chunk = {});

}  // namespace ma
