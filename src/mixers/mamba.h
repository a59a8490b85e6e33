// Mamba-1 selective state-space mixer: in_proj -> (x, z); causal depthwise
// conv1d over x (tail of K-1 inputs kept in the state) and SiLU; x_proj ->
// (dt, B, C); dt_proj + softplus; the selective scan with A = -exp(A_log) and
// skip D; y * SiLU(z); out_proj. Falcon-Mamba adds weightless RMSNorms on
// dt, B and C (Jamba: with weights). Prefill and decode run the same per-channel
// recurrence, so T prefill tokens equal T decode steps.
#pragma once

#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"

namespace ma {

struct MambaShape {
  int64_t n_embd = 0;
  int64_t d_inner = 0;  // expand * n_embd
  int64_t d_state = 0;  // N
  int64_t d_conv = 0;   // K
  int64_t dt_rank = 0;  // R
  // Falcon-Mamba: dt, B and C each RMS-normalised (no weight) after x_proj;
  // Jamba does the same with weights (MambaWeights::dt_norm, b_norm, c_norm).
  bool dt_b_c_rms = false;
  float norm_eps = 1e-5f;
};

struct MambaWeights {
  Weight in;                     // {n_embd, 2 * d_inner}: x rows, then z rows
  std::vector<float> conv;       // [d_inner x d_conv]
  std::vector<float> conv_bias;  // [d_inner]
  Weight x_proj;                 // {d_inner, R + 2N}: dt, B, C
  Weight dt_proj;                // {R, d_inner}
  std::vector<float> dt_bias;    // [d_inner]
  std::vector<float> a;          // [d_inner x N], already -exp(A_log)
  std::vector<float> d;          // [d_inner] skip
  // Jamba: RMSNorm weights of dt [R], B [N] and C [N]; empty when unweighted.
  std::vector<float> dt_norm, b_norm, c_norm;
  Weight out;  // {d_inner, n_embd}
};

class MambaMixer final : public SequenceBlock {
 public:
  MambaMixer(MambaWeights w, MambaShape shape);

  MixerKind kind() const override { return MixerKind::kMamba; }
  // State slot: conv tail [(K-1) x d_inner], then ssm state [d_inner x N].
  StateSpec state_spec() const override {
    return {StateFamily::kFixed, 0, static_cast<size_t>(state_floats()) * sizeof(float)};
  }
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override;

  const MambaShape& shape() const { return shape_; }
  int64_t conv_state_floats() const { return (shape_.d_conv - 1) * shape_.d_inner; }
  int64_t state_floats() const { return conv_state_floats() + shape_.d_inner * shape_.d_state; }

 private:
  MambaWeights w_;
  MambaShape shape_;
};

}  // namespace ma
