// Writes GGUF v3 files that llama.cpp reads: header, metadata in insertion
// order, tensor infos, then tensor data, each piece padded to the alignment.
// The file is written to "<path>.tmp" and renamed, so a failure never leaves
// a half-written file under the final name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace ma::gguf {

class Writer {
 public:
  // Sets or replaces a key (the first position is kept on replace).
  void set(const std::string& key, Value value);
  void remove(const std::string& key);
  // Copies every metadata key of another file (e.g. the tokenizer of a source model).
  void copy_metadata(const File& from);

  // Adds a tensor. The data span is not copied: keep it alive until write().
  void add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                  std::span<const uint8_t> data);
  // Adds a tensor whose bytes the writer owns.
  void add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                  std::vector<uint8_t> data);

  uint32_t alignment() const { return alignment_; }
  size_t tensor_count() const { return tensors_.size(); }

  void write(const std::string& path) const;  // throws ma::Error
  std::vector<uint8_t> to_bytes() const;

 private:
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> shape;
    std::span<const uint8_t> data;
    std::vector<uint8_t> owned;
  };
  template <typename Sink>
  void emit(Sink& sink) const;

  std::vector<KeyValue> kvs_;
  std::vector<PendingTensor> tensors_;
  uint32_t alignment_ = kDefaultAlignment;
};

}  // namespace ma::gguf
