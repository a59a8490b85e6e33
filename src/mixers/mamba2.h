// Mamba-2 (SSD) mixer: in_proj -> (z, xBC, dt); causal depthwise conv1d over
// xBC (tail kept in the state) and SiLU; split into x, B, C; dt = softplus(dt
// + dt_bias); the scan with one scalar A = -exp(A_log) per head and B/C shared
// by the heads of a group; y * SiLU(z) normalised per group (RMSNorm with a
// weight); out_proj. Prefill and decode run the same per-channel recurrence.
#pragma once

#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "ops/reference_ssm.h"

namespace ma {

struct Mamba2Shape {
  int64_t n_embd = 0;
  int64_t d_inner = 0;  // n_head * head_dim
  int64_t d_state = 0;  // N
  int64_t d_conv = 0;   // K
  int64_t n_head = 0;   // H
  int64_t n_group = 1;  // G: B and C are per group
  float norm_eps = 1e-5f;

  int64_t head_dim() const { return d_inner / n_head; }
  int64_t conv_dim() const { return d_inner + 2 * n_group * d_state; }  // x, B, C
  int64_t in_dim() const { return d_inner + conv_dim() + n_head; }      // z, xBC, dt
};

struct Mamba2Weights {
  Weight in;                     // {n_embd, in_dim}: z, then xBC, then dt rows
  std::vector<float> conv;       // [conv_dim x d_conv]
  std::vector<float> conv_bias;  // [conv_dim]
  std::vector<float> dt_bias;    // [H]
  std::vector<float> a;          // [H], already -exp(A_log)
  std::vector<float> d;          // [H] skip
  std::vector<float> norm;       // [d_inner]: G groups of d_inner / G
  Weight out;                    // {d_inner, n_embd}
};

class Mamba2Mixer final : public SequenceBlock {
 public:
  Mamba2Mixer(Mamba2Weights w, Mamba2Shape shape);

  MixerKind kind() const override { return MixerKind::kMamba2; }
  // State slot: conv tail [(K-1) x conv_dim], then ssm state [H x head_dim x N].
  StateSpec state_spec() const override {
    return {StateFamily::kFixed, 0, static_cast<size_t>(state_floats()) * sizeof(float)};
  }
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override;

  int64_t conv_state_floats() const { return (shape_.d_conv - 1) * shape_.conv_dim(); }
  int64_t state_floats() const { return conv_state_floats() + shape_.d_inner * shape_.d_state; }

 private:
  Mamba2Weights w_;
  Mamba2Shape shape_;
  ref::SsdShape ssd_;
};

}  // namespace ma
