// A validated, memory-mapped GGUF file (versions 2 and 3).
//
// Parsing checks every count, length, offset and size against the file before
// it is used; a bad file throws ma::Error naming the problem and the byte
// offset. Tensor data are zero-copy views into the mapping.
//
// Shapes use ggml's order: shape[0] is the fastest-varying (contiguous)
// dimension, so a weight of a Linear(in -> out) is shape {in, out}.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "gguf/gguf_value.h"
#include "quant/ggml_type.h"

#include "core/mapped_file.h"

namespace ma::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> shape;  // ggml order, 1..4 dims
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;  // relative to the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  std::span<const uint8_t> data;  // view into the mapping (or the parsed buffer)

  uint64_t rows() const { return shape.empty() ? 0 : n_elements / shape[0]; }
};

class File {
 public:
  // Maps (or, with kCopyToAnonymous, reads) and parses a file; throws ma::Error.
  static File open(const std::string& path, LoadMode mode = LoadMode::kMmap);
  // Parses bytes the caller keeps alive (tests, fuzzing). `label` names them in errors.
  static File parse(std::span<const uint8_t> bytes, std::string label = "<memory>");

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& label() const { return label_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }

  const std::vector<KeyValue>& metadata() const { return kvs_; }
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const Value& get(std::string_view key) const;  // throws if missing

  // Typed lookups: missing keys throw (or give the fallback), mismatched types throw.
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, std::string fallback) const;
  uint64_t get_uint(std::string_view key) const;
  uint64_t get_uint(std::string_view key, uint64_t fallback) const;
  double get_float(std::string_view key) const;
  double get_float(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;

  // The model's architecture string ("llama", "mamba", ...), or "" if absent.
  std::string architecture() const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  const TensorInfo& tensor(std::string_view name) const;  // throws if missing

 private:
  File() = default;
  void parse_all();

  std::string label_;
  std::shared_ptr<MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> kvs_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace ma::gguf
