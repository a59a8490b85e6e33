#include "model/arch_registry.h"

#include <array>

#include "core/error.h"

namespace ma {

std::unique_ptr<Model> build_llama(gguf::File file);
std::unique_ptr<Model> build_jamba(gguf::File file);
std::unique_ptr<Model> build_mamba(gguf::File file);
std::unique_ptr<Model> build_mamba2(gguf::File file);
std::unique_ptr<Model> build_rwkv7(gguf::File file);
std::unique_ptr<Model> build_recurrent_gemma(gguf::File file);
std::unique_ptr<Model> build_zamba2(gguf::File file);

std::span<const ArchEntry> architectures() {
  // clang-format off: one line per architecture
  static const std::array kArchs = {
      ArchEntry{"llama", build_llama},
      ArchEntry{"jamba", build_jamba},
      ArchEntry{"mamba", build_mamba},
      ArchEntry{"mamba2", build_mamba2},
      ArchEntry{"recurrentgemma", build_recurrent_gemma},
      ArchEntry{"rwkv7", build_rwkv7},
      ArchEntry{"zamba2", build_zamba2},
  };
  // clang-format on
  return kArchs;
}

std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& options) {
  gguf::File file = gguf::File::open(path, options.mode);
  const std::string arch = file.architecture();
  std::string supported;
  for (const ArchEntry& a : architectures()) {
    if (a.name == arch) {
      auto model = a.build(std::move(file));
      if (options.repack) model->repack_for_cpu();
      return model;
    }
    supported += (supported.empty() ? "" : ", ") + std::string(a.name);
  }
  throw Error(path + ": architecture '" + arch + "' is not supported (supported: " + supported +
              ")");
}

}  // namespace ma
