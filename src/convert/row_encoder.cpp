#include "convert/row_encoder.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "quant/quantize.h"

namespace ma::convert {

unsigned encode_threads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

void encode_tensor(GgmlType type, uint64_t rows, uint64_t cols, const RowSource& source,
                   GgufStreamWriter& writer) {
  if (!can_quantize(type)) {
    throw Error("cannot encode tensors as " + std::string(ggml_type_name(type)));
  }
  if (cols % ggml_type_traits(type).block_size != 0) {
    throw Error("row length " + std::to_string(cols) + " is not a multiple of the " +
                std::string(ggml_type_name(type)) + " block size");
  }
  const size_t row_bytes = ggml_row_size(type, cols);
  // About 16 MiB of floats per chunk keeps memory flat for any model size.
  const uint64_t chunk_rows =
      std::max<uint64_t>(1, (uint64_t{4} << 20) / std::max<uint64_t>(cols, 1));
  std::vector<uint8_t> out;
  for (uint64_t first = 0; first < rows; first += chunk_rows) {
    const uint64_t n = std::min(chunk_rows, rows - first);
    out.resize(static_cast<size_t>(n * row_bytes));
    auto work = [&](uint64_t begin, uint64_t end) {
      std::vector<float> buf(static_cast<size_t>(cols));
      for (uint64_t r = begin; r < end; ++r) {
        source(first + r, buf.data());
        quantize_row(type, buf.data(), out.data() + r * row_bytes, static_cast<int64_t>(cols));
      }
    };
    // Only big chunks are worth threads (tests run tiny tensors under ASan).
    const unsigned threads = n * cols < (uint64_t{1} << 16)
                                 ? 1u
                                 : static_cast<unsigned>(std::min<uint64_t>(encode_threads(), n));
    if (threads <= 1) {
      work(0, n);
    } else {
      std::vector<std::thread> pool;
      std::exception_ptr failure;
      std::mutex failure_mutex;
      for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          try {
            work(n * t / threads, n * (t + 1) / threads);
          } catch (...) {
            std::lock_guard<std::mutex> lock(failure_mutex);
            if (!failure) failure = std::current_exception();
          }
        });
      }
      for (auto& th : pool) th.join();
      if (failure) std::rethrow_exception(failure);
    }
    writer.write_data(out);
  }
}

}  // namespace ma::convert
