// A weight matrix as the backends see it: `out` rows of `in` elements in the
// file's own type, used in place (zero copy on the CPU) unless the CPU
// backend repacked it into an interleaved layout its kernels prefer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/gguf_file.h"
#include "quant/ggml_type.h"

namespace ma {

enum class WeightLayout {
  kRows,    // the file's layout: row after row
  kQ4_0x8,  // Q4_0, 8 rows interleaved per block (backend/cpu/q4_0x8.h)
  kQ8_0x8,  // Q8_0, 8 rows interleaved per block (backend/cpu/q8_0x8.h)
};

struct Weight {
  GgmlType type = GgmlType::F32;
  WeightLayout layout = WeightLayout::kRows;
  int64_t in = 0;   // elements per row (ggml shape[0])
  int64_t out = 0;  // rows (product of the other dims)
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;

  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }

  static Weight from_tensor(const gguf::TensorInfo& t) {
    Weight w;
    w.type = t.type;
    w.in = static_cast<int64_t>(t.shape[0]);
    w.out = static_cast<int64_t>(t.rows());
    w.data = t.data.data();
    w.row_bytes = ggml_row_size(t.type, t.shape[0]);
    return w;
  }
};

}  // namespace ma
