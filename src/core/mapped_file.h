// A read-only memory mapping of a whole file (RAII). Weights are used in
// place from this mapping; nothing is copied at load time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ma {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws ma::Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ma
