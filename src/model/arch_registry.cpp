#include "model/arch_registry.h"

#include <array>

#include "core/error.h"

namespace ma {

std::unique_ptr<Model> build_llama(gguf::File file);

std::span<const ArchEntry> architectures() {
  static const std::array kArchs = {
      ArchEntry{"llama", build_llama},
  };
  return kArchs;
}

std::unique_ptr<Model> load_model(const std::string& path, LoadMode mode) {
  gguf::File file = gguf::File::open(path, mode);
  const std::string arch = file.architecture();
  std::string supported;
  for (const ArchEntry& a : architectures()) {
    if (a.name == arch) return a.build(std::move(file));
    supported += (supported.empty() ? "" : ", ") + std::string(a.name);
  }
  throw Error(path + ": architecture '" + arch + "' is not supported (supported: " + supported +
              ")");
}

}  // namespace ma
