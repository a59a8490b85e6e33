// Kernel launches with programmatic dependent launch (Hopper): a kernel may
// be scheduled while the one before it in the stream is still finishing, so
// the launch latency and its prologue (a matvec's first weight loads) overlap
// the tail of its predecessor. The protocol every kernel launched here keeps:
//   - nothing written by an earlier kernel is read, and nothing an earlier
//     kernel may still read is written, before pdl_wait() (which returns once
//     the predecessor has completed and its writes are visible);
//   - pdl_start() lets the successor be scheduled, then waits.
// Every kernel waits, so completion stays transitive along the stream. The
// successor is scheduled once every block of this grid has started and
// takes only the slots left free, so a chain of small kernels lets the
// matvec after it start its weight prefetch while they run.
// MA_CUDA_PDL=0 launches without the attribute (plain stream order).
//
// Built with -DMA_CUDA_TRACE=ON, every kernel's first block stamps the time
// it passes pdl_wait(); at exit the gaps between successive stamps (each
// kernel's share of the critical path) are printed per kernel, for eager
// steps and recorded ones alike (trace.h).
#pragma once

#include <utility>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/trace.h"

namespace ma::cuda {

#if defined(MA_CUDA_TRACE) && defined(__CUDACC__)
namespace {
__device__ unsigned long long* trace_buffer = nullptr;
void set_trace_buffer(unsigned long long* p) {
  MA_CUDA_CHECK(cudaMemcpyToSymbol(trace_buffer, &p, sizeof p));
}
const int trace_registered = (trace_register(set_trace_buffer), 0);
}  // namespace
#endif

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
#if defined(MA_CUDA_TRACE) && defined(__CUDA_ARCH__)
  if (trace_buffer != nullptr && blockIdx.x + blockIdx.y + blockIdx.z == 0 &&
      threadIdx.x + threadIdx.y + threadIdx.z == 0) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    const unsigned long long i = atomicAdd(trace_buffer, 1ull);
    if (i < kTraceSlots) trace_buffer[1 + i] = t;
  }
#endif
}

__device__ __forceinline__ void pdl_release() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_start() {
  pdl_release();
  pdl_wait();
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
#ifdef MA_CUDA_TRACE
  trace_launch(reinterpret_cast<const void*>(kernel), grid, s);
#endif
  MA_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace ma::cuda
