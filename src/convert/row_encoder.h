// Encodes a tensor row by row into any writable ggml type and streams it to
// a GgufStreamWriter in chunks, spreading rows over threads. Output is
// independent of the thread count: each row is encoded on its own.
#pragma once

#include <cstdint>
#include <functional>

#include "convert/gguf_stream_writer.h"
#include "quant/ggml_type.h"

namespace ma::convert {

// Fills `out` (cols floats) with row `row`; called concurrently from several threads.
using RowSource = std::function<void(uint64_t row, float* out)>;

void encode_tensor(GgmlType type, uint64_t rows, uint64_t cols, const RowSource& source,
                   GgufStreamWriter& writer);

// Threads used for encoding (hardware concurrency, at least 1).
unsigned encode_threads();

}  // namespace ma::convert
