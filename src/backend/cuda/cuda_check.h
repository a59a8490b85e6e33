// Every CUDA runtime and cuBLAS call and every kernel launch is checked; a
// failure becomes one ma::Error naming the call and where it was made.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace ma::cuda {

[[noreturn]] void fail(const char* what, const char* detail, const char* file, int line);

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) fail(what, cudaGetErrorString(err), file, line);
}

inline void check(cublasStatus_t st, const char* what, const char* file, int line) {
  if (st != CUBLAS_STATUS_SUCCESS) fail(what, cublasGetStatusString(st), file, line);
}

}  // namespace ma::cuda

#define MA_CUDA_CHECK(call) ::ma::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: catches bad launch configurations at once.
#define MA_CUDA_CHECK_LAUNCH() \
  ::ma::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
