#include "backend/cuda/prefill_gemm.h"

#include <utility>

#include "backend/cuda/kernels.h"

namespace ma::cuda {

PrefillGemm::PrefillGemm(cudaStream_t s, Grow grow) : stream_(s), grow_(std::move(grow)) {
  MA_CUDA_CHECK(cublasCreate(&blas_));
  MA_CUDA_CHECK(cublasSetStream(blas_, stream_));
}

PrefillGemm::~PrefillGemm() {
  (void)cublasDestroy(blas_);
}

// W is column-major [in x out] (lda = in), x column-major [in x n], y
// column-major [out x n].
void PrefillGemm::run(const DeviceWeight& w, const float* x, int64_t n, float* y) {
  const float alpha = 1.0f, beta = 0.0f;
  const int m = static_cast<int>(w.out), nn = static_cast<int>(n), k = static_cast<int>(w.in);
  if (w.type == GgmlType::F32) {
    MA_CUDA_CHECK(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, m, nn, k, &alpha,
                              static_cast<const float*>(w.q), k, x, k, &beta, y, m));
    return;
  }
  const bool bf16 = w.type == GgmlType::BF16;
  const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
  auto* xh = static_cast<uint16_t*>(grow_(act_h_, static_cast<size_t>(n * k) * 2, "activations"));
  if (bf16) {
    to_bf16(x, n * k, xh, stream_);
  } else {
    to_f16(x, n * k, xh, stream_);
  }
  const void* wh = w.q;
  if (w.type != GgmlType::F16 && w.type != GgmlType::BF16) {  // quantized: dequantize
    auto* tmp = static_cast<uint16_t*>(
        grow_(dequant_, static_cast<size_t>(w.in * w.out) * 2, "dequantized weights"));
    dequantize_f16(w, tmp, stream_);
    wh = tmp;
  }
  MA_CUDA_CHECK(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, m, nn, k, &alpha, wh, type, k, xh,
                             type, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                             CUBLAS_GEMM_DEFAULT));
}

}  // namespace ma::cuda
