// RWKV-7 channel mixing, the feed-forward of an `rwkv7` layer:
//   out = value relu(key (x + (x_prev - x) lerp_k))^2
// Its token shift (the previous token's x) lives in the layer's recurrent
// slot beside the time mix's state (Rwkv7SlotLayout::channel_shift), found
// through ForwardContext::layer_slot.
#pragma once

#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "mixers/rwkv7.h"

namespace ma {

class Rwkv7ChannelMix final : public FeedForward {
 public:
  Rwkv7ChannelMix(std::vector<float> lerp_k, Weight key, Weight value, Rwkv7SlotLayout layout);

  void forward(ForwardContext& ctx, const float* x, float* out) const override;
  void visit_matmul_weights(const WeightVisitor& visit) override {
    visit(key_);
    visit(value_);
  }

 private:
  std::vector<float> lerp_k_;  // [C] channel_mix_lerp_k
  Weight key_;                 // {C, n_ff} channel_mix_key
  Weight value_;               // {n_ff, C} channel_mix_value
  Rwkv7SlotLayout layout_;
};

}  // namespace ma
