// Zamba-2's hybrid layer. A transformer block whose weights are shared by
// several depths reads concat(residual, token embeddings) (width 2 * n_embd):
//   a = RMSNorm_2d(concat(h, e));  s = attn(a)      (q/k/v get a LoRA each)
//   f = RMSNorm(s);  m = down(act(gate(f)) * up(f))  (gate/up get one LoRA)
// with no residual inside the block. A per-layer linear maps m back to n_embd
// and is added to the Mamba-2 layer's input only: the layer returns
//   mamba2(RMSNorm(h + linear(m)))
// and the model adds it to h. The LoRA adapters and the linear belong to the
// depth; the block's weights are stored once. Each depth keeps its own KV rows
// (its attention-family slot) and its Mamba-2 state (ForwardContext::layer_slot).
#pragma once

#include <memory>
#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "mixers/mamba2.h"
#include "ops/reference_ops.h"
#include "ops/rope.h"

namespace ma {

enum class Zamba2Activation { kGelu, kGeluTanh, kSilu };

// One shared transformer block; every hybrid layer using it holds a pointer.
struct Zamba2SharedBlock {
  std::vector<float> attn_norm;  // [2 * n_embd]
  Weight wq;                     // {2 * n_embd, n_head * head_dim}
  Weight wk;                     // {2 * n_embd, n_head_kv * head_dim}
  Weight wv;                     // {2 * n_embd, n_head_kv * head_dim}
  Weight wo;                     // {n_head * head_dim, n_embd}
  std::vector<float> ffn_norm;   // [n_embd]
  Weight gate_up;                // {n_embd, 2 * n_ff}: gate rows, then up rows
  Weight down;                   // {n_ff, n_embd}
};

// y += b(a(x)); an adapter with no data is absent.
struct LowRankAdapter {
  Weight a;  // {in, rank}
  Weight b;  // {rank, out}
  bool present() const { return a.data != nullptr; }
};

struct Zamba2Adapters {
  LowRankAdapter q, k, v, gate_up;
};

struct Zamba2HybridShape {
  int64_t n_embd = 0;
  int64_t n_ff = 0;
  ref::AttentionShape attention;  // head_dim = 2 * n_embd / n_head, scale 1/sqrt(head_dim/2)
  RopeParams rope;                // n_dims 0: no position encoding
  Zamba2Activation activation = Zamba2Activation::kGelu;
  float norm_eps = 1e-5f;
};

class Zamba2HybridLayer final : public SequenceBlock {
 public:
  // `visits_shared`: this layer is the shared block's first user and hands
  // its weights to visit_matmul_weights (once, so a repack happens once).
  Zamba2HybridLayer(std::shared_ptr<Zamba2SharedBlock> shared, bool visits_shared,
                    Zamba2Adapters adapters, Weight linear, std::vector<float> mamba_norm,
                    std::unique_ptr<Mamba2Mixer> mamba, Zamba2HybridShape shape);

  MixerKind kind() const override { return MixerKind::kAttention; }
  StateSpec state_spec() const override {
    const auto& a = shape_.attention;
    return {StateFamily::kKvCache, a.n_head_kv * a.head_dim, mamba_->state_spec().fixed_bytes};
  }
  bool reads_embeddings() const override { return true; }
  void visit_matmul_weights(const WeightVisitor& visit) override;
  // x: the raw residual stream (this layer has no model-side norm).
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override;

 private:
  std::shared_ptr<Zamba2SharedBlock> shared_;
  bool visits_shared_;
  Zamba2Adapters adapters_;
  Weight linear_;                  // {n_embd, n_embd}
  std::vector<float> mamba_norm_;  // [n_embd]
  std::unique_ptr<Mamba2Mixer> mamba_;
  Zamba2HybridShape shape_;
};

}  // namespace ma
