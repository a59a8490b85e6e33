// RWKV-7 time mixing, the sequence mixer of an `rwkv7` layer: token shift
// (each of r, w, k, v, a, g leans towards the previous token by its own
// lerp), the r/k/v projections and the low-rank ones for the decay w, the
// in-context learning rate a, the value-residual mix and the gate g; the
// value residual towards the first layer's values; the generalized delta
// rule per head (ops/reference_rwkv7.h); group norm; the r.k bonus; the gate;
// the output projection. Batches of at least one chunk (16 tokens) run the
// chunked wkv kernel, shorter ones (decode) the recurrent one; both leave the
// same state.
//
// The layer's channel mix (mixers/rwkv7_channel_mix.h) keeps its token shift
// in the same slot, so one slot holds a whole RWKV-7 layer.
#pragma once

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "ops/reference_rwkv7.h"

namespace ma {

// Where a layer's state lives in its recurrent slot, in floats.
struct Rwkv7SlotLayout {
  int64_t n_embd = 0;
  int64_t head_size = 0;

  int64_t time_shift() const { return 0; }          // [C] the time mix's previous input
  int64_t channel_shift() const { return n_embd; }  // [C] the channel mix's previous input
  int64_t wkv() const { return 2 * n_embd; }        // [H x N x N] key rows, value columns
  int64_t floats() const { return 2 * n_embd + n_embd * head_size; }
};

class Rwkv7TimeMix final : public SequenceBlock {
 public:
  // The first layer stores its values for the later layers' value residual
  // (in the workspace, for the length of one forward pass); the others mix
  // theirs towards them.
  Rwkv7TimeMix(Rwkv7TimeMixWeights w, Rwkv7Shape shape, bool first_layer);

  MixerKind kind() const override { return MixerKind::kRwkv7; }
  StateSpec state_spec() const override {
    return {StateFamily::kFixed, 0, static_cast<size_t>(layout().floats()) * sizeof(float)};
  }
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override;
  void visit_matmul_weights(const WeightVisitor& visit) override;

  Rwkv7SlotLayout layout() const { return {shape_.n_embd, shape_.head_size}; }

 private:
  // Token shift, projections and the per-channel inputs of the wkv kernel.
  void prepare(ForwardContext& ctx, const float* x, float* shift) const;

  Rwkv7TimeMixWeights w_;
  Rwkv7Shape shape_;
  bool first_layer_;
};

}  // namespace ma
