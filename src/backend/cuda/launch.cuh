// Kernel launches with programmatic dependent launch (Hopper): a kernel may
// be scheduled while the one before it in the stream is still finishing, so
// the launch latency and its prologue (a matvec's first weight loads) overlap
// the tail of its predecessor. The protocol every kernel launched here keeps:
//   - nothing written by an earlier kernel is read, and nothing an earlier
//     kernel may still read is written, before pdl_wait() (which returns once
//     the predecessor has completed and its writes are visible);
//   - pdl_release() after pdl_wait() lets the successor be scheduled.
// Every kernel waits, so completion stays transitive along the stream.
// MA_CUDA_PDL=0 launches without the attribute (plain stream order).
#pragma once

#include <utility>

#include "backend/cuda/cuda_check.h"

namespace ma::cuda {

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_release() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Whether launches carry the attribute: a Hopper-or-later device and
// MA_CUDA_PDL not "0".
bool pdl_enabled();

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t s,
            Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = shared_bytes;
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_enabled() ? 1 : 0;
  MA_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace ma::cuda
