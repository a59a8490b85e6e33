#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "backend/cuda/launch.cuh"

namespace ma::cuda {

bool pdl_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MA_CUDA_PDL");
    if (v != nullptr && std::string(v) == "0") return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return major >= 9;
  }();
  return enabled;
}

}  // namespace ma::cuda
