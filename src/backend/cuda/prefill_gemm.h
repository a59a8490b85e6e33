// Prefill products on cuBLAS: y [n x out] = x [n x in] W^T for a batch of
// tokens, F32 weights in fp32, the others in fp16 / bf16 (quantized ones
// dequantized to fp16 first) with fp32 accumulation.
#pragma once

#include <cstdint>
#include <functional>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/device_weight.h"

namespace ma::cuda {

class PrefillGemm {
 public:
  // How the scratch grows (the backend's rules: a recorded step may hold it).
  using Grow = std::function<void*(DeviceBuffer&, size_t, const char*)>;

  PrefillGemm(cudaStream_t s, Grow grow);
  ~PrefillGemm();
  PrefillGemm(const PrefillGemm&) = delete;
  PrefillGemm& operator=(const PrefillGemm&) = delete;

  void run(const DeviceWeight& w, const float* x, int64_t n, float* y);

 private:
  cudaStream_t stream_;
  Grow grow_;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer act_h_, dequant_;  // x in 16 bits; a quantized weight in fp16
};

}  // namespace ma::cuda
