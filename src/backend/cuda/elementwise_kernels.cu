// Norms (with the residual add before them fused in), residual adds,
// biases, gated activations, soft-capping and the embedding lookup:
// memory-bound kernels, one pass each.
#include "backend/cuda/cuda_math.cuh"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace ma::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>((n + kThreads - 1) / kThreads);
}

// x += residual first (when given); the block's warps cover 32 consecutive
// elements per step, so the q8 copy is quantized in place.
__global__ void rms_norm_kernel(float* x, const float* residual, const float* w, int dim, float eps,
                                float* y, Q8Out q8) {
  __shared__ float scratch[32];
  pdl_start();
  float* xr = x + static_cast<int64_t>(blockIdx.x) * dim;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * dim;
  float ss = 0.0f;
  if (residual != nullptr) {
    const float* rr = residual + static_cast<int64_t>(blockIdx.x) * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
      const float v = xr[i] + rr[i];
      xr[i] = v;
      ss += v * v;
    }
  } else {
    for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    const float v = xr[i] * inv * w[i];
    yr[i] = v;
    if (q8.q != nullptr) quantize_warp(v, static_cast<int64_t>(blockIdx.x) * dim + (i & ~31), q8);
  }
}

__global__ void layer_norm_kernel(float* x, const float* residual, const float* w, const float* b,
                                  int dim, float eps, float* y, Q8Out q8) {
  __shared__ float scratch[32];
  pdl_start();
  float* xr = x + static_cast<int64_t>(blockIdx.x) * dim;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * dim;
  float s = 0.0f;
  if (residual != nullptr) {
    const float* rr = residual + static_cast<int64_t>(blockIdx.x) * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
      const float v = xr[i] + rr[i];
      xr[i] = v;
      s += v;
    }
  } else {
    for (int i = threadIdx.x; i < dim; i += blockDim.x) s += xr[i];
  }
  const float mean = block_sum(s, scratch) / static_cast<float>(dim);
  float v = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) v += (xr[i] - mean) * (xr[i] - mean);
  const float inv = rsqrtf(block_sum(v, scratch) / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    const float o = (xr[i] - mean) * inv * w[i] + (b != nullptr ? b[i] : 0.0f);
    yr[i] = o;
    if (q8.q != nullptr) quantize_warp(o, static_cast<int64_t>(blockIdx.x) * dim + (i & ~31), q8);
  }
}

// The common case (dim % 4 == 0, dim <= 4 * kMaxNormChunks * 1024): each
// thread keeps up to kChunks float4 chunks of the row in registers
// through both passes, and the weights are loaded before waiting on the
// predecessor. Eight consecutive threads hold one 32-element q8 block.
// A decode step's norm is one block: as many threads as fit (kChunks the
// fewest that cover the row), so each runs the shortest chain.
constexpr int kMaxNormChunks = 4;

__device__ __forceinline__ float group8_max(float v) {
  for (int o = 4; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ float group8_sum(float v) {
  for (int o = 4; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Every lane of the warp calls this (the shuffles need them all); only
// valid chunks are written.
__device__ __forceinline__ void quantize_chunk(float4 o, bool valid, int64_t chunk, Q8Out q8) {
  const float amax = group8_max(
      valid ? fmaxf(fmaxf(fabsf(o.x), fabsf(o.y)), fmaxf(fabsf(o.z), fabsf(o.w))) : 0.0f);
  const float d = amax / 127.0f;
  const int q0 = amax == 0.0f ? 0 : __float2int_rn(o.x / d);
  const int q1 = amax == 0.0f ? 0 : __float2int_rn(o.y / d);
  const int q2 = amax == 0.0f ? 0 : __float2int_rn(o.z / d);
  const int q3 = amax == 0.0f ? 0 : __float2int_rn(o.w / d);
  const float qsum = group8_sum(static_cast<float>(q0 + q1 + q2 + q3));
  if (!valid) return;
  reinterpret_cast<char4*>(q8.q)[chunk] =
      make_char4(static_cast<signed char>(q0), static_cast<signed char>(q1),
                 static_cast<signed char>(q2), static_cast<signed char>(q3));
  if (chunk % 8 == 0) reinterpret_cast<float2*>(q8.s)[chunk / 8] = make_float2(d, d * qsum);
}

template <bool kLayer, int kChunks>
__global__ void norm_rows_kernel(float* x, const float* residual, const float* w, const float* b,
                                 int dim, float eps, float* y, Q8Out q8) {
  __shared__ float scratch[32];
  const int chunks = dim / 4;
  const int64_t base = static_cast<int64_t>(blockIdx.x) * chunks;
  float4 wv[kChunks], bv[kChunks], v[kChunks];
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = static_cast<int>(threadIdx.x) + k * static_cast<int>(blockDim.x);
    if (c < chunks) {
      wv[k] = __ldg(reinterpret_cast<const float4*>(w) + c);
      bv[k] = kLayer && b != nullptr ? __ldg(reinterpret_cast<const float4*>(b) + c)
                                     : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
  }
  pdl_start();
  auto* x4 = reinterpret_cast<float4*>(x) + base;
  float s = 0.0f;
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = static_cast<int>(threadIdx.x) + k * static_cast<int>(blockDim.x);
    v[k] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (c >= chunks) continue;
    v[k] = x4[c];
    if (residual != nullptr) {
      const float4 r = reinterpret_cast<const float4*>(residual)[base + c];
      v[k] = make_float4(v[k].x + r.x, v[k].y + r.y, v[k].z + r.z, v[k].w + r.w);
      x4[c] = v[k];
    }
    s += kLayer ? v[k].x + v[k].y + v[k].z + v[k].w
                : v[k].x * v[k].x + v[k].y * v[k].y + v[k].z * v[k].z + v[k].w * v[k].w;
  }
  float mean = 0.0f, inv;
  if (kLayer) {
    mean = block_sum(s, scratch) / static_cast<float>(dim);
    float var = 0.0f;
#pragma unroll
    for (int k = 0; k < kChunks; ++k) {
      const int c = static_cast<int>(threadIdx.x) + k * static_cast<int>(blockDim.x);
      if (c >= chunks) continue;
      const float a = v[k].x - mean, bb = v[k].y - mean, cc = v[k].z - mean, d = v[k].w - mean;
      var += a * a + bb * bb + cc * cc + d * d;
    }
    inv = rsqrtf(block_sum(var, scratch) / static_cast<float>(dim) + eps);
  } else {
    inv = rsqrtf(block_sum(s, scratch) / static_cast<float>(dim) + eps);
  }
  auto* y4 = reinterpret_cast<float4*>(y) + base;
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = static_cast<int>(threadIdx.x) + k * static_cast<int>(blockDim.x);
    const bool valid = c < chunks;
    float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (valid) {
      o = make_float4(
          (v[k].x - mean) * inv * wv[k].x + bv[k].x, (v[k].y - mean) * inv * wv[k].y + bv[k].y,
          (v[k].z - mean) * inv * wv[k].z + bv[k].z, (v[k].w - mean) * inv * wv[k].w + bv[k].w);
      y4[c] = o;
    }
    // Whole warps leave together: chunks is a multiple of 8 when q8 is wanted.
    if (q8.q != nullptr && k * static_cast<int>(blockDim.x) < chunks) {
      quantize_chunk(o, valid, base + c, q8);
    }
  }
}

__global__ void add_kernel(float* y, const float* x, int64_t n) {
  pdl_start();
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += x[i];
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t n, int64_t dim) {
  pdl_start();
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += bias[i % dim];
}

// Blocks of kThreads (a multiple of 32) so each warp holds 32 consecutive
// outputs for the q8 copy; that copy needs n % 32 == 0.
template <GateActivation kAct>
__global__ void gated_kernel(float* g, const float* u, int64_t n, Q8Out q8) {
  pdl_start();
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float v = gate_activation<kAct>(g[i]) * u[i];
  g[i] = v;
  if (q8.q != nullptr) quantize_warp(v, i & ~int64_t{31}, q8);
}

// One warp per 32-element group: y and its q8 scales times the factor
// (the int8 quants of a scaled group are the same).
__global__ void rms_finish_kernel(PendingRms r, Q8Out q8) {
  pdl_start();
  const float f = pending_rms_factor(r);
  const int64_t group = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (group >= r.dim / 32) return;
  r.y_out[group * 32 + threadIdx.x % 32] *= f;
  if (threadIdx.x % 32 == 0) {
    float2* s = reinterpret_cast<float2*>(q8.s) + group;
    *s = make_float2(s->x * f, s->y * f);
  }
}

// One row's RMSNorm with the factor left pending (PendingRms), spread over
// the card: one warp per 32-element group adds the residual (when given),
// writes y = x * w and its q8 copy, and the group's sum of squares. With
// kLookup, x is first written as the token's embedding row (a decode step's
// first norm: one launch for both).
template <bool kLookup>
__global__ void rms_partial_kernel(EmbeddingRow e, float* x, const float* residual, const float* w,
                                   int64_t dim, float* y, Q8Out q8, float* parts) {
  pdl_start();
  const int64_t group = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (group >= dim / 32) return;
  const int64_t i = group * 32 + threadIdx.x % 32;
  float v;
  if constexpr (kLookup) {
    v = weight_at(e.table, *e.token, i) * e.scale;
    x[i] = v;
  } else {
    v = x[i];
    if (residual != nullptr) {
      v += residual[i];
      x[i] = v;
    }
  }
  const float z = v * __ldg(w + i);
  y[i] = z;
  quantize_warp(z, group * 32, q8);
  const float ss = warp_sum(v * v);
  if (threadIdx.x % 32 == 0) parts[group] = ss;
}

__global__ void softcap_kernel(float* x, int64_t n, float cap) {
  pdl_start();
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = cap * tanhf(x[i] / cap);
}

constexpr int kArgmaxThreads = 1024;

// (value, index) pairs: the larger value wins, equal values the lower index;
// an index of -1 (nothing seen) always loses.
__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
  if (oi >= 0 && (i < 0 || ov > v || (ov == v && oi < i))) {
    v = ov;
    i = oi;
  }
}

__global__ void argmax_kernel(const float* x, int64_t n, int32_t* out) {
  __shared__ float vs[32];
  __shared__ int is[32];
  pdl_start();
  float v = 0.0f;
  int idx = -1;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float xj = x[j];
    if (!isnan(xj)) better(v, idx, xj, static_cast<int>(j));
  }
  for (int o = 16; o > 0; o >>= 1) {
    better(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    vs[warp] = v;
    is[warp] = idx;
  }
  __syncthreads();
  if (warp != 0) return;
  v = lane < kArgmaxThreads / 32 ? vs[lane] : 0.0f;
  idx = lane < kArgmaxThreads / 32 ? is[lane] : -1;
  for (int o = 16; o > 0; o >>= 1) {
    better(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  }
  if (lane == 0) *out = idx;
}

__global__ void embedding_kernel(DeviceWeight table, const int32_t* tokens, float scale,
                                 float* out) {
  pdl_start();
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

// Float4 chunks per thread on the register path: the fewest (1, 2 or 4)
// that cover the row with at most 1024 threads.
static int norm_chunks(int64_t dim) {
  int chunks = 1;
  while (chunks < kMaxNormChunks && dim / 4 > chunks * int64_t{1024}) chunks *= 2;
  return chunks;
}

// Threads for the register path: enough that `chunks` float4 chunks each
// cover the row, a multiple of 32.
static unsigned norm_rows_threads(int64_t dim, int chunks) {
  const int64_t per = (dim / 4 + chunks - 1) / chunks;
  const int64_t t = (per + 31) / 32 * 32;
  return static_cast<unsigned>(t < 32 ? 32 : t);
}

static bool norm_in_registers(int64_t dim) {
  return dim % 4 == 0 && dim <= 4 * kMaxNormChunks * 1024;
}

template <bool kLayer>
static void launch_norm_rows(float* x, const float* residual, const float* w, const float* b,
                             int64_t rows, int64_t dim, float eps, float* y, Q8Out q8,
                             cudaStream_t s) {
  const int chunks = norm_chunks(dim);
  const auto kernel = chunks == 1   ? norm_rows_kernel<kLayer, 1>
                      : chunks == 2 ? norm_rows_kernel<kLayer, 2>
                                    : norm_rows_kernel<kLayer, kMaxNormChunks>;
  launch(kernel, dim3(static_cast<unsigned>(rows)), dim3(norm_rows_threads(dim, chunks)), 0, s, x,
         residual, w, b, static_cast<int>(dim), eps, y, q8);
}

void rms_norm(float* x, const float* residual, const float* w, int64_t rows, int64_t dim, float eps,
              float* y, Q8Out q8, cudaStream_t s) {
  if (norm_in_registers(dim)) {
    launch_norm_rows<false>(x, residual, w, nullptr, rows, dim, eps, y, q8, s);
  } else {
    launch(rms_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(norm_threads(dim)), 0, s, x,
           residual, w, static_cast<int>(dim), eps, y, q8);
  }
}

void layer_norm(float* x, const float* residual, const float* w, const float* b, int64_t rows,
                int64_t dim, float eps, float* y, Q8Out q8, cudaStream_t s) {
  if (norm_in_registers(dim)) {
    launch_norm_rows<true>(x, residual, w, b, rows, dim, eps, y, q8, s);
  } else {
    launch(layer_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(norm_threads(dim)), 0, s, x,
           residual, w, b, static_cast<int>(dim), eps, y, q8);
  }
}

void add(float* y, const float* x, int64_t n, cudaStream_t s) {
  launch(add_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, y, x, n);
}

void add_bias(float* y, const float* bias, int64_t rows, int64_t dim, cudaStream_t s) {
  launch(add_bias_kernel, dim3(blocks_for(rows * dim)), dim3(kThreads), 0, s, y, bias, rows * dim,
         dim);
}

void gated(GateActivation act, float* gate, const float* up, int64_t n, Q8Out q8, cudaStream_t s) {
  if (act == GateActivation::kSilu) {
    launch(gated_kernel<GateActivation::kSilu>, dim3(blocks_for(n)), dim3(kThreads), 0, s, gate, up,
           n, q8);
  } else {
    launch(gated_kernel<GateActivation::kGeluTanh>, dim3(blocks_for(n)), dim3(kThreads), 0, s, gate,
           up, n, q8);
  }
}

void rms_partial(float* x, const float* residual, const float* w, int64_t dim, float* y, Q8Out q8,
                 float* parts, cudaStream_t s) {
  launch(rms_partial_kernel<false>, dim3(blocks_for(dim)), dim3(kThreads), 0, s, EmbeddingRow{}, x,
         residual, w, dim, y, q8, parts);
}

void embedding_rms_partial(const EmbeddingRow& e, float* x, const float* w, float* y, Q8Out q8,
                           float* parts, cudaStream_t s) {
  launch(rms_partial_kernel<true>, dim3(blocks_for(e.table.in)), dim3(kThreads), 0, s, e, x,
         nullptr, w, e.table.in, y, q8, parts);
}

void rms_finish(const PendingRms& rms, Q8Out q8, cudaStream_t s) {
  launch(rms_finish_kernel, dim3(blocks_for(rms.dim)), dim3(kThreads), 0, s, rms, q8);
}

void softcap(float* x, int64_t n, float cap, cudaStream_t s) {
  launch(softcap_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, x, n, cap);
}

void argmax(const float* x, int64_t n, int32_t* out, cudaStream_t s) {
  launch(argmax_kernel, dim3(1), dim3(kArgmaxThreads), 0, s, x, n, out);
}

void embedding(const DeviceWeight& table, const int32_t* tokens, int64_t n_tokens, float scale,
               float* out, cudaStream_t s) {
  const dim3 grid(blocks_for(table.in), static_cast<unsigned>(n_tokens));
  launch(embedding_kernel, grid, dim3(kThreads), 0, s, table, tokens, scale, out);
}

}  // namespace ma::cuda
