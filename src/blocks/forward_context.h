// What a block needs while running one batch of one sequence: the backend,
// the thread pool, reusable scratch, the tokens' positions, and the
// sequence's state.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "core/thread_pool.h"
#include "state/kv_cache.h"
#include "state/recurrent_state.h"

namespace ma {

// Named float buffers that grow to their high-water mark once, then are reused.
class Workspace {
 public:
  float* get(int id, size_t n) {
    if (static_cast<size_t>(id) >= buffers_.size()) buffers_.resize(static_cast<size_t>(id) + 1);
    auto& b = buffers_[static_cast<size_t>(id)];
    if (b.size() < n) b.resize(n);
    return b.data();
  }

 private:
  std::vector<std::vector<float>> buffers_;
};

// Scratch buffer ids, all in this one list so no two users collide. Blocks
// of one layer run one after another, so blocks of different layers may
// share ids; the model's own buffers live across layers.
enum WorkspaceId : int {
  kWsResidual = 0,  // Model::forward: the residual stream
  kWsNormed,        // Model::forward: a normalised copy, a block's input
  kWsBlockOut,      // Model::forward: a block's output
  kWsQ,
  kWsK,
  kWsV,
  kWsAttnOut,
  kWsGate,
  kWsUp,
  kWsRouter,       // MoE router logits
  kWsRouterPicks,  // MoE: each token's experts and weights
  kWsRouterRows,   // MoE: which picks one expert serves
  kWsExpertIn,     // MoE: the tokens routed to one expert
  kWsExpertOut,    // MoE: that expert's outputs
  kWsEmbeddings,   // Model::forward: the token embeddings, kept for the whole pass
  // Kept across the layers of one forward pass: RWKV-7's first-layer values,
  // which every later layer's value residual reads.
  kWsFirstLayerValues,
  kWsLogits,           // Model::forward on a device: the logits before they are copied out
  kWsMixerFirst = 16,  // ids from here on belong to linear mixers
};
static_assert(kWsFirstLayerValues < kWsMixerFirst, "workspace ids overlap the mixers'");

// Per-sequence state of every layer: KV pages for attention layers, one
// fixed slot per recurrent layer (indexed by the layer's state_slot).
struct SequenceState {
  KvCache* kv = nullptr;
  KvSequence kv_seq;
  RecurrentState recurrent;
};

struct ForwardContext {
  ThreadPool& pool;
  Workspace& ws;
  cpu::MatmulScratch& matmul;
  cpu::AttentionScratch& attention;
  // The ops of the transformer path (attention, gated FFN, norms, head) go
  // through the backend; CPU-only mixers use the members above directly.
  Backend& backend;
  const int64_t* positions;  // [n_tokens], consecutive
  int64_t n_tokens;
  SequenceState& state;
  // The running layer's recurrent state slot (set by Model::forward). An FFN
  // with state of its own (RWKV-7's channel mix) keeps it in that slot, and
  // so does an attention-family mixer that also declares fixed state.
  int64_t layer_slot = 0;
  // [n_tokens x n_embd] the token embeddings as they entered the first layer
  // (set by Model::forward); Zamba-2's shared block reads them at every depth.
  const float* embeddings = nullptr;
  // Set for a greedy decode step: the pass writes the argmax of the last
  // row's logits here instead of the logits.
  int32_t* greedy_token = nullptr;
};

}  // namespace ma
