// y = x W^T on the CPU for any supported weight type: x is [n_tokens x in]
// row-major floats, y is [n_tokens x out]. Quantized weights of the Q4/Q5/Q8
// families multiply activations quantized once to Q8_0; other types go
// through a per-thread dequantized row. Rows are split over the thread pool.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/weight.h"
#include "core/thread_pool.h"

namespace ma::cpu {

// Reusable buffers, so steady-state decoding allocates nothing.
class MatmulScratch {
 public:
  uint8_t* activations(size_t bytes) {
    if (act_.size() < bytes) act_.resize(bytes);
    return act_.data();
  }
  float* rows(size_t floats) {
    if (rows_.size() < floats) rows_.resize(floats);
    return rows_.data();
  }

 private:
  std::vector<uint8_t> act_;
  std::vector<float> rows_;
};

void matmul(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y,
            MatmulScratch& scratch);

}  // namespace ma::cpu
