#include "backend/cuda/cuda_memory.h"

#include <cuda_runtime.h>

#include "backend/cuda/cuda_check.h"
#include "core/error.h"

namespace ma::cuda {

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t err = cudaMalloc(&ptr_, bytes);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free allocation error
    ptr_ = nullptr;
    bytes_ = 0;
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    throw Error("CUDA: cannot allocate " + std::to_string(bytes >> 20) +
                " MiB of device memory for " + what + " (" + std::to_string(free_b >> 20) +
                " MiB free of " + std::to_string(total_b >> 20) +
                " MiB): " + cudaGetErrorString(err));
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != nullptr) (void)cudaFree(ptr_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_ != nullptr) (void)cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

void* DeviceBuffer::grow(size_t bytes, const std::string& what) {
  if (bytes > bytes_) *this = DeviceBuffer(bytes, what);
  return ptr_;
}

PinnedBuffer::~PinnedBuffer() {
  if (ptr_ != nullptr) (void)cudaFreeHost(ptr_);
}

bool PinnedBuffer::grow(size_t bytes) {
  if (bytes <= bytes_) return false;
  if (ptr_ != nullptr) MA_CUDA_CHECK(cudaFreeHost(ptr_));
  ptr_ = nullptr;
  bytes_ = 0;
  MA_CUDA_CHECK(cudaMallocHost(&ptr_, bytes));
  bytes_ = bytes;
  return true;
}

[[noreturn]] void fail(const char* what, const char* detail, const char* file, int line) {
  throw Error(std::string("CUDA: ") + what + " failed: " + detail + " (" + file + ":" +
              std::to_string(line) + ")");
}

}  // namespace ma::cuda
