// An anonymous, page-aligned buffer advised to use transparent huge pages:
// for data the CPU streams through every token (repacked weights).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace ma {

class HugeBuffer {
 public:
  explicit HugeBuffer(size_t bytes) : size_(round_up(bytes)) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw Error("cannot allocate " + std::to_string(bytes) + " bytes");
    ::madvise(p, size_, MADV_HUGEPAGE);  // a hint; fine if the kernel ignores it
    data_ = static_cast<uint8_t*>(p);
  }
  ~HugeBuffer() { ::munmap(data_, size_); }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;

  uint8_t* data() const { return data_; }

 private:
  static size_t round_up(size_t n) {
    constexpr size_t kHugePage = size_t{2} << 20;
    return (n + kHugePage - 1) / kHugePage * kHugePage;
  }
  size_t size_;
  uint8_t* data_ = nullptr;
};

}  // namespace ma
