// Device memory owned by RAII buffers; growable scratch that keeps its
// high-water mark so steady-state steps allocate nothing.
#pragma once

#include <cstddef>
#include <string>

namespace ma::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // `what` names the allocation in the out-of-memory error.
  DeviceBuffer(size_t bytes, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  // Reallocates (contents lost) when smaller than `bytes`; returns the pointer.
  void* grow(size_t bytes, const std::string& what);

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Page-locked host memory: the staging area of asynchronous copies (the only
// host memory a recorded CUDA graph may copy from or to).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* get() const { return ptr_; }
  // Reallocates (contents lost) when smaller than `bytes`; returns whether it did.
  bool grow(size_t bytes);

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace ma::cuda
