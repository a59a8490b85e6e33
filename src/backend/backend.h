// The backend seam: the coarse ops the transformer path of the model code
// (Model::forward, SoftmaxAttention, GatedFeedForward) calls, on float
// buffers that live in the backend's own memory (host memory for the CPU,
// device memory for CUDA). Mixers without ops here run on the CPU only and
// say so through SequenceBlock::runs_on.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "backend/device.h"
#include "backend/weight.h"
#include "model/hparams.h"
#include "ops/reference_ops.h"
#include "ops/rope.h"

namespace ma {

struct SequenceState;

enum class GateActivation { kSilu, kGeluTanh };

// One attention layer's step: q and k rotated by `rope` when given (in
// place), k and v appended to the layer's cache at `positions`
// (consecutive), then causal attention of q over the cache.
struct AttentionStep {
  int64_t layer = 0;  // index among the model's attention layers
  const ref::AttentionShape* shape = nullptr;
  const RopeParams* rope = nullptr;
  const int64_t* positions = nullptr;  // host memory, [n_tokens]
  int64_t n_tokens = 0;
  SequenceState* state = nullptr;
};

struct KvSequence;

// What a forward pass is, for a device that records decode steps and
// replays the recording: prompt batches are not recorded; each kind of
// decode step (full logits out, or only the greedy token) has its own.
enum class StepKind { kBatch, kDecode, kDecodeGreedy };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // One forward pass of a session: its inputs (host memory; the same
  // pointers the pass then hands to the ops) are given first, so a device
  // can copy them ahead; `forward` runs the pass. A device may record a
  // decode pass once and replay the recording for later passes of the same
  // kind, so such a pass must write its output to the same host buffer
  // each time.
  virtual void begin_step(const int32_t* /*tokens*/, int64_t /*n_tokens*/,
                          const int64_t* /*positions*/, const KvSequence* /*kv*/) {}
  virtual void run_step(StepKind /*kind*/, const std::function<void()>& forward) { forward(); }

  // Scratch buffer `id` (a WorkspaceId) of at least n floats; grows once to
  // its high-water mark, then is reused.
  virtual float* buffer(int id, size_t n) = 0;
  virtual void upload(const float* host, int64_t n, float* dst) = 0;
  // Copies n floats to host memory; returns once they are there.
  virtual void download(const float* src, int64_t n, float* host) = 0;
  // Host memory for n floats that download fills without a staging copy
  // (a device's page-locked memory), owned by the backend; nullptr where
  // any host memory will do. One buffer: a later call replaces it.
  virtual float* host_output(int64_t /*n*/) { return nullptr; }
  virtual void copy(const float* src, int64_t n, float* dst) = 0;

  // out[t] = table row tokens[t] * scale; tokens in host memory, checked.
  virtual void embedding(const Weight& table, const int32_t* tokens, int64_t n_tokens, float scale,
                         float* out) = 0;
  // RMSNorm or LayerNorm (bias may be empty) over rows of dim; x and y may alias.
  virtual void norm(NormKind kind, const float* x, const std::vector<float>& weight,
                    const std::vector<float>& bias, int64_t rows, int64_t dim, float eps,
                    float* y) = 0;
  // x += residual, then y = norm(x): the residual stream's add and the next
  // layer's norm, which a device may run as one pass.
  virtual void add_norm(NormKind kind, float* x, const float* residual,
                        const std::vector<float>& weight, const std::vector<float>& bias,
                        int64_t rows, int64_t dim, float eps, float* y) {
    add(x, residual, rows * dim);
    norm(kind, x, weight, bias, rows, dim, eps, y);
  }
  // y = x W^T: x [n_tokens x w.in], y [n_tokens x w.out].
  virtual void matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) = 0;
  // Several products of the same input (q, k and v; gate and up), which a
  // device may run as one.
  struct Product {
    const Weight* w;
    float* y;
  };
  virtual void matmul_shared(std::initializer_list<Product> products, const float* x,
                             int64_t n_tokens) {
    for (const Product& p : products) matmul(*p.w, x, n_tokens, p.y);
  }
  virtual void add(float* y, const float* x, int64_t n) = 0;
  virtual void add_bias(float* y, const std::vector<float>& bias, int64_t rows, int64_t dim) = 0;
  // gate = act(gate) * up, n elements.
  virtual void gated(GateActivation act, float* gate, const float* up, int64_t n) = 0;
  // The index of the largest of x[0, n) (NaN skipped, ties to the lowest;
  // -1 if there is none), copied to host memory like download: greedy
  // decoding reads one integer instead of the logits.
  virtual void argmax(const float* x, int64_t n, int32_t* host) = 0;
  // x = cap * tanh(x / cap)
  virtual void softcap(float* x, int64_t n, float cap) = 0;
  // In place on x [n_tokens x n_heads x head_dim]; positions in host
  // memory, consecutive.
  virtual void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                    const int64_t* positions, const RopeParams& p) = 0;
  // q [n x n_head x d] and k, v [n x n_head_kv x d] (rotated here when
  // step.rope is set, else already); out [n x n_head x d].
  virtual void attention(const AttentionStep& step, float* q, float* k, const float* v,
                         float* out) = 0;
};

}  // namespace ma
