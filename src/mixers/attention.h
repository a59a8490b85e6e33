// Softmax attention (MHA / GQA / MQA), causal, optional sliding window and
// score soft-capping, RoPE on q and k, reading and appending the paged KV cache.
#pragma once

#include <utility>
#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "ops/reference_ops.h"
#include "ops/rope.h"

namespace ma {

struct AttentionWeights {
  Weight wq;                   // {n_embd, n_head * head_dim}
  Weight wk;                   // {n_embd, n_head_kv * head_dim}
  Weight wv;                   // {n_embd, n_head_kv * head_dim}
  Weight wo;                   // {n_head * head_dim, n_embd}
  std::vector<float> wo_bias;  // [n_embd] output bias (Griffin), or empty
};

class SoftmaxAttention final : public SequenceBlock {
 public:
  SoftmaxAttention(AttentionWeights w, ref::AttentionShape shape, RopeParams rope)
      : w_(std::move(w)), shape_(shape), rope_(rope) {}

  MixerKind kind() const override { return MixerKind::kAttention; }
  StateSpec state_spec() const override {
    return {StateFamily::kKvCache, shape_.n_head_kv * shape_.head_dim, 0};
  }
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override;
  bool runs_on(Device) const override { return true; }
  void visit_matmul_weights(const WeightVisitor& visit) override {
    for (Weight* w : {&w_.wq, &w_.wk, &w_.wv, &w_.wo}) visit(*w);
  }
  void for_each_matmul_weight(const ConstWeightVisitor& visit) const override {
    for (const Weight* w : {&w_.wq, &w_.wk, &w_.wv, &w_.wo}) visit(*w);
  }

 private:
  AttentionWeights w_;
  ref::AttentionShape shape_;
  RopeParams rope_;
};

}  // namespace ma
