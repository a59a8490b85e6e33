// A whole file in memory (RAII), read-only. By default a memory mapping: weights
// are used in place and nothing is copied at load time. `kCopyToAnonymous`
// instead reads the file into anonymous memory advised to use huge pages,
// which costs a copy at load time but makes streaming the weights through
// the CPU faster (fewer TLB misses than 4 KiB page-cache pages).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ma {

enum class LoadMode { kMmap, kCopyToAnonymous };

class MappedFile {
 public:
  explicit MappedFile(const std::string& path,
                      LoadMode mode = LoadMode::kMmap);  // throws ma::Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_size_ = 0;
};

}  // namespace ma
