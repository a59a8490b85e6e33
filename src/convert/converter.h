// Hugging Face folder -> GGUF: metadata from config.json through the
// architecture table, the tokenizer from tokenizer.json, and every tensor
// renamed, reordered (q/k RoPE permutation) and encoded row by row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ma::convert {

struct ConvertOptions {
  std::string hf_dir;
  std::string out_path;
  std::string type = "f16";  // see file_type.h
  std::string name;          // general.name; default: the folder name
  bool progress = true;      // "[i/N] tensor" lines on stderr
};

struct ConvertResult {
  size_t n_tensors = 0;
  uint64_t n_tokens = 0;
};

ConvertResult convert_hf_to_gguf(const ConvertOptions& opts);

// Prints "<what> [i/N] name type shape" on stderr.
void print_progress(const char* what, size_t i, size_t n, const std::string& name,
                    const std::string& type, const std::vector<uint64_t>& shape);

}  // namespace ma::convert
