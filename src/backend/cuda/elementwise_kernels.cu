// Norms, residual adds, biases, gated activations, soft-capping and the
// embedding lookup: memory-bound kernels, one pass each.
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"

namespace ma::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>((n + kThreads - 1) / kThreads);
}

__global__ void rms_norm_kernel(const float* x, const float* w, int dim, float eps, float* y) {
  __shared__ float scratch[32];
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * dim;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * dim;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
  const float inv = rsqrtf(block_sum(ss, scratch) / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = xr[i] * inv * w[i];
}

__global__ void layer_norm_kernel(const float* x, const float* w, const float* b, int dim,
                                  float eps, float* y) {
  __shared__ float scratch[32];
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * dim;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * dim;
  float s = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) s += xr[i];
  const float mean = block_sum(s, scratch) / static_cast<float>(dim);
  float v = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) v += (xr[i] - mean) * (xr[i] - mean);
  const float inv = rsqrtf(block_sum(v, scratch) / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    yr[i] = (xr[i] - mean) * inv * w[i] + (b != nullptr ? b[i] : 0.0f);
  }
}

__global__ void add_kernel(float* y, const float* x, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += x[i];
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t n, int64_t dim) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += bias[i % dim];
}

__global__ void swiglu_kernel(float* g, const float* u, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

__global__ void geglu_kernel(float* g, const float* u, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    const float x = g[i];
    const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    g[i] = 0.5f * x * (1.0f + tanhf(inner)) * u[i];
  }
}

__global__ void softcap_kernel(float* x, int64_t n, float cap) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = cap * tanhf(x[i] / cap);
}

__global__ void embedding_kernel(DeviceWeight table, const int32_t* tokens, float scale,
                                 float* out) {
  const int64_t t = blockIdx.y;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < table.in) out[t * table.in + i] = weight_at(table, tokens[t], i) * scale;
}

}  // namespace

// One block per row, wide enough that each thread holds a few values: a
// decode step normalises a single row, so that one block is the whole kernel.
static unsigned norm_threads(int64_t dim) {
  const int64_t t = (dim / 4 + 31) / 32 * 32;
  return static_cast<unsigned>(t < 32 ? 32 : t > 1024 ? 1024 : t);
}

void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y,
              cudaStream_t s) {
  rms_norm_kernel<<<static_cast<unsigned>(rows), norm_threads(dim), 0, s>>>(
      x, w, static_cast<int>(dim), eps, y);
  MA_CUDA_CHECK_LAUNCH();
}

void layer_norm(const float* x, const float* w, const float* b, int64_t rows, int64_t dim,
                float eps, float* y, cudaStream_t s) {
  layer_norm_kernel<<<static_cast<unsigned>(rows), norm_threads(dim), 0, s>>>(
      x, w, b, static_cast<int>(dim), eps, y);
  MA_CUDA_CHECK_LAUNCH();
}

void add(float* y, const float* x, int64_t n, cudaStream_t s) {
  add_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, x, n);
  MA_CUDA_CHECK_LAUNCH();
}

void add_bias(float* y, const float* bias, int64_t rows, int64_t dim, cudaStream_t s) {
  add_bias_kernel<<<blocks_for(rows * dim), kThreads, 0, s>>>(y, bias, rows * dim, dim);
  MA_CUDA_CHECK_LAUNCH();
}

void gated(GateActivation act, float* gate, const float* up, int64_t n, cudaStream_t s) {
  if (act == GateActivation::kSilu) {
    swiglu_kernel<<<blocks_for(n), kThreads, 0, s>>>(gate, up, n);
  } else {
    geglu_kernel<<<blocks_for(n), kThreads, 0, s>>>(gate, up, n);
  }
  MA_CUDA_CHECK_LAUNCH();
}

void softcap(float* x, int64_t n, float cap, cudaStream_t s) {
  softcap_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n, cap);
  MA_CUDA_CHECK_LAUNCH();
}

void embedding(const DeviceWeight& table, const int32_t* tokens, int64_t n_tokens, float scale,
               float* out, cudaStream_t s) {
  const dim3 grid(blocks_for(table.in), static_cast<unsigned>(n_tokens));
  embedding_kernel<<<grid, kThreads, 0, s>>>(table, tokens, scale, out);
  MA_CUDA_CHECK_LAUNCH();
}

}  // namespace ma::cuda
