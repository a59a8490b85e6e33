// The seam every architecture plugs into: a layer is
//   x += mixer(norm(x));  x += ffn(norm(x))
// where the mixer is a SequenceBlock of one of two families. Attention keeps a
// KV cache that grows with the tokens; linear mixers (Mamba, RWKV, RG-LRU)
// keep a fixed-size state. Each block declares which state it needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "backend/weight.h"
#include "blocks/forward_context.h"
#include "model/layer_schedule.h"

namespace ma {

enum class StateFamily { kKvCache, kFixed };

struct StateSpec {
  StateFamily family = StateFamily::kKvCache;
  int64_t kv_row_elems = 0;  // kKvCache: n_head_kv * head_dim per token
  // Bytes of recurrent state per sequence. A kKvCache block may declare some
  // too (Zamba-2's hybrid layer: shared attention plus a Mamba-2 mixer); it
  // finds its recurrent slot in ForwardContext::layer_slot.
  size_t fixed_bytes = 0;
};

// Lets the backend re-point a block's matmul weights, e.g. to a repacked copy.
using WeightVisitor = std::function<void(Weight&)>;
// Lets a backend read them, e.g. to upload them to a device.
using ConstWeightVisitor = std::function<void(const Weight&)>;

class SequenceBlock {
 public:
  virtual ~SequenceBlock() = default;
  // Visits the weights used only as matmul operands (default: none).
  virtual void visit_matmul_weights(const WeightVisitor&) {}
  virtual void for_each_matmul_weight(const ConstWeightVisitor&) const {}
  // Whether the block has kernels for `device` (every block runs on the CPU).
  virtual bool runs_on(Device device) const { return device == Device::kCpu; }
  virtual MixerKind kind() const = 0;
  virtual StateSpec state_spec() const = 0;
  // Whether forward reads ForwardContext::embeddings (kept for the pass
  // only when some block does).
  virtual bool reads_embeddings() const { return false; }
  // x: [n_tokens x n_embd] (normalised input, or the raw residual stream for
  // a layer without a mixer norm); out: [n_tokens x n_embd].
  // `slot` is this layer's index among the layers of its state family.
  virtual void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const = 0;
};

class FeedForward {
 public:
  virtual ~FeedForward() = default;
  virtual void visit_matmul_weights(const WeightVisitor&) {}
  virtual void for_each_matmul_weight(const ConstWeightVisitor&) const {}
  virtual bool runs_on(Device device) const { return device == Device::kCpu; }
  virtual void forward(ForwardContext& ctx, const float* x, float* out) const = 0;
};

}  // namespace ma
