// A GGUF v3 writer that streams tensor data: the tensor list (names, types,
// shapes) is declared up front, the header is written, then each tensor's
// bytes are appended in declaration order, piece by piece. Converting or
// synthesising a 7B model therefore never holds more than one tensor chunk.
// Like gguf::Writer it writes "<path>.tmp" and renames it on finish(), and the
// file it produces is byte-identical to what gguf::Writer would write.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace ma::convert {

class GgufStreamWriter {
 public:
  GgufStreamWriter() = default;
  GgufStreamWriter(const GgufStreamWriter&) = delete;
  GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;
  ~GgufStreamWriter();  // an unfinished file is removed

  // Metadata and tensor declarations: only before begin().
  void set(const std::string& key, gguf::Value value);
  void remove(const std::string& key);
  const gguf::Value* find(const std::string& key) const;
  void declare_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape);

  const std::vector<gguf::KeyValue>& metadata() const { return kvs_; }
  size_t tensor_count() const { return tensors_.size(); }

  // Opens "<path>.tmp" and writes the header and tensor infos.
  void begin(const std::string& path);
  // Appends bytes to the current tensor; moves on when one is complete.
  void write_data(std::span<const uint8_t> bytes);
  // Checks every tensor got all its bytes, closes and renames.
  void finish();

 private:
  struct Declared {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> shape;
    uint64_t n_bytes;
  };
  void raw(const void* p, size_t n);
  void pad();
  void put_value(const gguf::Value& v);
  void put_string(const std::string& s);
  void abandon();

  std::vector<gguf::KeyValue> kvs_;
  std::vector<Declared> tensors_;
  uint32_t alignment_ = gguf::kDefaultAlignment;
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t written_ = 0;
  size_t current_ = 0;         // tensor receiving data
  uint64_t current_done_ = 0;  // its bytes so far
};

}  // namespace ma::convert
