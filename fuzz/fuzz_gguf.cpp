// libFuzzer target: the GGUF reader must refuse any input with ma::Error and
// never crash, hang or read out of bounds. Built with -DMA_FUZZ=ON (clang).
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "model/model_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto file = ma::gguf::File::parse(std::span<const uint8_t>(data, size), "fuzz");
    // Walk what was parsed the way `info` does.
    (void)ma::ModelInfo::from_gguf(file);
    for (const auto& t : file.tensors()) {
      volatile uint8_t sink = 0;
      if (!t.data.empty()) sink = t.data[t.data.size() - 1];
      (void)sink;
    }
  } catch (const ma::Error&) {
  }
  return 0;
}
