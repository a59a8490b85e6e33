// Launchers of the CUDA kernels (the .cu files beside this one). Pointers
// are device pointers unless named host_*; every launcher checks its launch.
#pragma once

#include <cstdint>

#include "backend/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_weight.h"

namespace ma::cuda {

// An optional int8 copy of a kernel's float output in quantize_q8_1's layout,
// written by the kernel that produces the floats, so the matvec reading them
// needs no quantization launch of its own. Needs whole 32-element blocks.
struct Q8Out {
  int8_t* q = nullptr;
  float* s = nullptr;
};

// --- elementwise_kernels.cu
// x += residual (when given, x is then written back), then y = norm(x), rows
// of dim; x and y may alias.
void rms_norm(float* x, const float* residual, const float* w, int64_t rows, int64_t dim, float eps,
              float* y, Q8Out q8, cudaStream_t s);
void layer_norm(float* x, const float* residual, const float* w, const float* b, int64_t rows,
                int64_t dim, float eps, float* y, Q8Out q8, cudaStream_t s);
void add(float* y, const float* x, int64_t n, cudaStream_t s);
void add_bias(float* y, const float* bias, int64_t rows, int64_t dim, cudaStream_t s);
void gated(GateActivation act, float* gate, const float* up, int64_t n, Q8Out q8, cudaStream_t s);
void softcap(float* x, int64_t n, float cap, cudaStream_t s);
// out[0] = the index of the largest of x[0, n) (NaN skipped, ties to the
// lowest), or -1; one block.
void argmax(const float* x, int64_t n, int32_t* out, cudaStream_t s);
// out[t] = row tokens[t] of the table, times scale.
void embedding(const DeviceWeight& table, const int32_t* tokens, int64_t n_tokens, float scale,
               float* out, cudaStream_t s);

// --- rope_kernels.cu: x [n x heads x head_dim], token t at positions[t], pair
// i turned by (pos * rate[i]) and scaled by mscale; rates in double.
struct RopeDevice {
  int64_t n_dims = 0;
  bool neox = false;
  const double* rates = nullptr;
  float mscale = 1.0f;
};
void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const RopeDevice& r,
          const int64_t* positions, cudaStream_t s);

// --- attention_kernels.cu
// One layer's paged KV storage; rows are `row_elems` wide, physical row of
// position p is block_table[p / page_size] * page_size + p % page_size.
struct KvLayerDevice {
  void* k = nullptr;
  void* v = nullptr;
  const int32_t* block_table = nullptr;
  int64_t page_size = 0;
  int64_t row_elems = 0;
  int64_t capacity = 0;  // positions the cache holds
  bool f16 = true;
};
// Writes k, v [n x row_elems] at positions[t] (device memory, so a recorded
// step reads each replay's positions).
void kv_store(const KvLayerDevice& kv, const float* k, const float* v, int64_t n,
              const int64_t* positions, cudaStream_t s);
// rope_kernels.cu: one launch that rotates q [n x n_head x d] in place and
// stores k (rotated) and v [n x n_head_kv x d] into the cache.
void rope_store(const KvLayerDevice& kv, float* q, const float* k, const float* v, int64_t n,
                int64_t n_head, int64_t n_head_kv, int64_t head_dim, const RopeDevice& r,
                const int64_t* positions, cudaStream_t s);
// How a decode step's keys are split over thread blocks (fixed by the
// cache's capacity, so a recorded step keeps its grid); one split: none.
struct DecodeSplit {
  int64_t chunk = 0;
  int n_splits = 1;
};
DecodeSplit decode_split(const KvLayerDevice& kv, int64_t n);
// Device scratch of a split decode step: partial [n_head x n_splits x
// (head_dim + 2)] words, each a float and a flag saying it is written,
// zeroed once (the merging block zeroes what it read).
struct AttentionScratch {
  uint64_t* partial = nullptr;
};
// Causal (optionally windowed, soft-capped) attention of q [n x n_head x d]
// at positions[t] over the cached positions [0, positions[t]]. A decode
// step (n = 1, d a multiple of 32) may also write out's q8 copy.
void attention(const KvLayerDevice& kv, const float* q, int64_t n, const int64_t* positions,
               const ref::AttentionShape& shape, const AttentionScratch& scratch, float* out,
               Q8Out q8, cudaStream_t s);

// --- matvec_kernels.cu
// x [n x in] floats -> int8 [n x in] and per 32-block (scale, scale * sum of quants).
void quantize_q8_1(const float* x, int64_t n, int64_t in, int8_t* xq, float* xs, cudaStream_t s);
// Up to three weights that read the same input (q, k, v; gate, up), each
// with its output.
struct MatvecGroup {
  static constexpr int kMax = 3;
  DeviceWeight w[kMax];
  float* y[kMax] = {};
  int count = 0;
};
// A decode step's RMSNorm left unfinished by matvec_add_rms: y holds x * w
// (and the q8 copy beside it) without the factor 1 / rms(x), and parts[j]
// the sum of squares of x's 32-element group j. A matvec reading y applies
// the factor to its products, which is exact up to rounding because the q8
// quantization is scale-free; when y_out is set that launch also writes y
// scaled (y_out == y, in place). rms_finish applies it to y and the q8 copy
// when another op reads y.
struct PendingRms {
  const float* parts = nullptr;  // null: no pending factor
  int64_t dim = 0;
  float eps = 0.0f;
  float* y_out = nullptr;
};
// A matvec's input: the floats, their q8_1 copy (quantized types), and a
// pending RMS factor.
struct MatvecInput {
  const float* x = nullptr;
  const int8_t* xq = nullptr;
  const float* xs = nullptr;
  PendingRms rms;
};
// y_k [out_k] = W_k x for one token, every weight of the group in one launch;
// quantized types read the quantize_q8_1 output.
void matvec(const MatvecGroup& g, const MatvecInput& in, cudaStream_t s);
bool matvec_needs_q8_1(GgmlType type);
// Whether every weight of the group reads q8_1 activations (the types one
// launch may mix), and whether they are all of one type.
bool matvec_all_q8_1(const MatvecGroup& g);
bool matvec_one_type(const MatvecGroup& g);
// The q, k, v products of one decode token (g.w[0], w[1], w[2]: one weight
// type or quantized types, head_dim a multiple of 4, RoPE not NeoX) with RoPE and the KV store
// as their epilogue: y[0] gets q rotated, y[1] and y[2] the k and v
// products, and k (rotated) and v go into the cache at positions[0].
struct QkvRope {
  KvLayerDevice kv;
  RopeDevice rope;
  const int64_t* positions = nullptr;
  int64_t head_dim = 0;
};
void matvec_qkv_rope(const MatvecGroup& g, const MatvecInput& in, const QkvRope& r, cudaStream_t s);
// The residual add and RMSNorm after a one-weight product (o, down; out a
// multiple of 32, a quantized type, an input without a pending factor):
// x += y[0], then norm.y = x * w with its q8 copy and norm.parts, the
// factor left pending (PendingRms).
struct AddRmsOut {
  float* x = nullptr;
  const float* w = nullptr;
  float* y = nullptr;
  Q8Out q8;
  float* parts = nullptr;
};
void matvec_add_rms(const MatvecGroup& g, const MatvecInput& in, const AddRmsOut& norm,
                    cudaStream_t s);
// matvec_streamed.cu: the gate and up products of one decode token
// (g.w[0], g.w[1], Q4_0 of equal outputs, a multiple of 32) with the gated
// activation as their epilogue: y[0] = act(W_0 x) * W_1 x and its q8 copy,
// y[1] = W_1 x. Returns false, launching nothing, where the streamed kernel
// does not take the group.
bool matvec_gated(const MatvecGroup& g, const MatvecInput& in, GateActivation act, Q8Out q8,
                  cudaStream_t s);
// elementwise_kernels.cu: applies a pending factor to y and its q8 copy.
void rms_finish(const PendingRms& rms, Q8Out q8, cudaStream_t s);
// Row token[0] of an embedding table, times scale.
struct EmbeddingRow {
  DeviceWeight table;
  const int32_t* token = nullptr;
  float scale = 1.0f;
};
// One row's RMSNorm (dim a multiple of 32) with the factor left pending:
// x += residual (when given), then y = x * w with its q8 copy and the
// group sums in parts, as matvec_add_rms leaves them.
void rms_partial(float* x, const float* residual, const float* w, int64_t dim, float* y, Q8Out q8,
                 float* parts, cudaStream_t s);
// The same for a decode step's first norm, x being written first as the
// embedding row (e.table.in: the dim, a multiple of 32).
void embedding_rms_partial(const EmbeddingRow& e, float* x, const float* w, float* y, Q8Out q8,
                           float* parts, cudaStream_t s);

// --- gemm_kernels.cu (the operands of cuBLAS for prefill)
// The whole weight dequantized to fp16 [out x in].
void dequantize_f16(const DeviceWeight& w, uint16_t* out, cudaStream_t s);
void to_f16(const float* x, int64_t n, uint16_t* out, cudaStream_t s);
void to_bf16(const float* x, int64_t n, uint16_t* out, cudaStream_t s);

}  // namespace ma::cuda
