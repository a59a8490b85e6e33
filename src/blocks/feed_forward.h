// Gated feed-forward: down(act(gate(x)) * up(x)), with SiLU (SwiGLU, Llama)
// or tanh-GELU (GeGLU, Gemma) as the activation.
#pragma once

#include <utility>
#include <vector>

#include "backend/backend.h"
#include "backend/weight.h"
#include "blocks/sequence_block.h"

namespace ma {

// Optional biases of the three projections (Gemma-style MLPs have them);
// an empty vector means none.
struct FeedForwardBiases {
  std::vector<float> gate;  // [n_ff]
  std::vector<float> up;    // [n_ff]
  std::vector<float> down;  // [n_embd]
};

class GatedFeedForward final : public FeedForward {
 public:
  GatedFeedForward(Weight gate, Weight up, Weight down, GateActivation act,
                   FeedForwardBiases biases = {})
      : gate_(gate), up_(up), down_(down), act_(act), biases_(std::move(biases)) {}
  void forward(ForwardContext& ctx, const float* x, float* out) const override;
  bool runs_on(Device) const override { return true; }
  void visit_matmul_weights(const WeightVisitor& visit) override {
    for (Weight* w : {&gate_, &up_, &down_}) visit(*w);
  }
  void for_each_matmul_weight(const ConstWeightVisitor& visit) const override {
    for (const Weight* w : {&gate_, &up_, &down_}) visit(*w);
  }

 private:
  Weight gate_;  // {n_embd, n_ff}
  Weight up_;    // {n_embd, n_ff}
  Weight down_;  // {n_ff, n_embd}
  GateActivation act_;
  FeedForwardBiases biases_;
};

}  // namespace ma
