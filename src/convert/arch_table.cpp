#include "convert/arch_table.h"

#include "core/error.h"

namespace ma::convert {
namespace {

using Entry = const ArchConverter& (*)();

// One line per architecture.
// clang-format off
constexpr Entry kArchConverters[] = {
    llama_arch_converter,
    jamba_arch_converter,
    mamba_arch_converter,
    mamba2_arch_converter,
    recurrent_gemma_arch_converter,
    rwkv7_arch_converter,
    zamba2_arch_converter,
};
// clang-format on

}  // namespace

const ArchConverter& find_arch_converter(std::string_view hf_class) {
  std::string supported;
  for (const Entry entry : kArchConverters) {
    const ArchConverter& c = entry();
    for (const auto name : c.hf_classes) {
      if (name == hf_class) return c;
      supported += (supported.empty() ? "" : ", ") + std::string(name);
    }
  }
  throw Error("architecture '" + std::string(hf_class) +
              "' is not supported by convert (supported: " + supported + ")");
}

}  // namespace ma::convert
