// Output types for convert / quantize / synth: a name such as "q8_0" or
// "q4_k_m" becomes a FileType (llama.cpp's general.file_type id plus a base
// tensor type), and choose_tensor_type() picks each tensor's type from it,
// following a simplified version of llama.cpp's mixes (docs/convert.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quant/ggml_type.h"

namespace ma::convert {

struct FileType {
  std::string name;    // canonical, upper case: "Q4_K_M"
  uint32_t ftype = 0;  // general.file_type (llama.cpp's LLAMA_FTYPE_*)
  GgmlType base = GgmlType::F32;
};

// Parses a type name (case-insensitive); unknown names throw, listing valid ones.
FileType parse_file_type(std::string_view name);
// Every accepted name, comma-separated (for help texts and errors).
std::string file_type_names();

// What choose_tensor_type needs to know about a tensor and its model.
struct TensorSlot {
  std::string name;             // GGUF name, e.g. "blk.3.attn_v.weight"
  std::vector<uint64_t> shape;  // ggml order
  uint32_t n_layers = 0;        // block_count
  uint32_t n_gqa = 1;           // n_head / n_head_kv
  bool tied_output = false;     // no output.weight: token_embd doubles as the LM head
};

// The type a tensor gets: 1-D tensors stay F32; quantized types follow the mix
// and fall back to a type whose block size divides the row length.
GgmlType choose_tensor_type(const FileType& ft, const TensorSlot& slot);

// Block-size fallback alone (K-quant -> 32-block legacy type -> F16).
GgmlType fit_row_length(GgmlType want, uint64_t row_length);

}  // namespace ma::convert
