// The one list of architectures. Each entry's builder lives in its own file
// in src/archs/; adding an architecture adds one file and one line here.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "gguf/gguf_file.h"
#include "model/model.h"

namespace ma {

using ArchBuilder = std::unique_ptr<Model> (*)(gguf::File file);

struct ArchEntry {
  std::string_view name;  // general.architecture
  ArchBuilder build;
};

std::span<const ArchEntry> architectures();

struct LoadOptions {
  LoadMode mode = LoadMode::kMmap;
  // Repack Q4_0/Q8_0 matmul weights for the CPU kernels (a copy; everything else
  // stays zero-copy in the mapping).
  bool repack = true;
};

// Opens a GGUF file and builds its model; unknown architectures are refused by name.
std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& options = {});

}  // namespace ma
