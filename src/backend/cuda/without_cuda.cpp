// A build without the CUDA backend (no nvcc at configure time, or a
// sanitizer build): every CUDA request says so.
#include "backend/cuda/cuda_backend.h"
#include "core/error.h"

namespace ma {

namespace {
constexpr const char* kNoCuda =
    "this build has no CUDA backend (nvcc was not found when it was configured, or "
    "-DMA_CUDA=OFF / a sanitizer build)";
}

bool cuda_available(std::string* why) {
  if (why != nullptr) *why = kNoCuda;
  return false;
}

std::string cuda_device_name() {
  return "";
}

std::unique_ptr<Backend> make_cuda_backend(const Model*, const KvCache*) {
  throw Error(kNoCuda);
}

}  // namespace ma
