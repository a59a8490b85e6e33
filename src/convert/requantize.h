// GGUF -> GGUF with other tensor types (`metal-attention quantize`): every
// 2-D tensor is decoded to float and re-encoded with the type the mix picks;
// 1-D tensors and tensors already of the target type are copied unchanged.
// Metadata is copied; general.file_type is updated.
#pragma once

#include <string>

namespace ma::convert {

struct QuantizeOptions {
  std::string in_path;
  std::string out_path;
  std::string type;  // see file_type.h
  bool progress = true;
};

// Returns the number of tensors written.
size_t quantize_gguf(const QuantizeOptions& opts);

}  // namespace ma::convert
