// Griffin's recurrent block (RecurrentGemma), the RG-LRU mixer. From the
// normalised input come two branches: x = linear_x(in), which runs through a
// causal depthwise conv1d with bias (the last K-1 inputs kept in the state,
// no activation) and the RG-LRU (ops/reference_rglru.h); and y =
// GeLU_tanh(linear_y(in)). out = linear_out(rglru(conv(x)) * y). Every
// projection has a bias. Prefill and decode run the same per-channel
// recurrence, so T prefill tokens equal T decode steps.
#pragma once

#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "ops/reference_rglru.h"

namespace ma {

struct RgLruShape {
  int64_t n_embd = 0;
  int64_t width = 0;   // W: lru_width
  int64_t n_head = 0;  // H: blocks of the block-diagonal gates
  int64_t d_conv = 0;  // K: conv1d width
};

struct RgLruWeights {
  Weight x_proj;                   // {n_embd, W}: linear_x
  std::vector<float> x_bias;       // [W]
  Weight y_proj;                   // {n_embd, W}: linear_y
  std::vector<float> y_bias;       // [W]
  std::vector<float> conv;         // [W x K]: w[c][K-1] weighs the current token
  std::vector<float> conv_bias;    // [W]
  std::vector<float> gate_x;       // [H x B x B]: row j of block h feeds channel h*B + j
  std::vector<float> gate_x_bias;  // [W]
  std::vector<float> gate_a;       // [H x B x B]: the recurrence gate, same layout
  std::vector<float> gate_a_bias;  // [W]
  std::vector<float> a_param;      // [W]: Lambda
  Weight out;                      // {W, n_embd}: linear_out
  std::vector<float> out_bias;     // [n_embd]
};

class RgLruMixer final : public SequenceBlock {
 public:
  RgLruMixer(RgLruWeights w, RgLruShape shape);

  MixerKind kind() const override { return MixerKind::kRgLru; }
  // State slot: conv tail [(K-1) x W], then the recurrence state h [W].
  StateSpec state_spec() const override {
    return {StateFamily::kFixed, 0, static_cast<size_t>(state_floats()) * sizeof(float)};
  }
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override;
  void visit_matmul_weights(const WeightVisitor& visit) override {
    for (Weight* w : {&w_.x_proj, &w_.y_proj, &w_.out}) visit(*w);
  }

  int64_t conv_state_floats() const { return (shape_.d_conv - 1) * shape_.width; }
  int64_t state_floats() const { return conv_state_floats() + shape_.width; }
  // The RG-LRU's parameters, viewing this mixer's weights.
  ref::RgLruParams lru_params() const;

 private:
  RgLruWeights w_;
  RgLruShape shape_;
};

}  // namespace ma
