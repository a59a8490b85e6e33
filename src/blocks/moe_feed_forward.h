// Mixture-of-experts SwiGLU feed-forward (Jamba, Mixtral): a router scores
// the E experts of each token, the softmax of those scores picks the top k,
// and the output is the chosen experts' SwiGLU outputs weighted by their
// router probabilities. Jamba uses the probabilities as they are; Mixtral
// renormalises the k chosen ones to sum to 1.
#pragma once

#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"

namespace ma {

inline constexpr int64_t kMaxExperts = 256;

struct MoeWeights {
  Weight router;             // {n_embd, n_expert}
  std::vector<Weight> gate;  // per expert {n_embd, n_ff}: views into the stacked tensor
  std::vector<Weight> up;    // per expert {n_embd, n_ff}
  std::vector<Weight> down;  // per expert {n_ff, n_embd}
};

struct MoeRouting {
  int64_t n_used = 2;        // experts per token (k)
  bool renormalize = false;  // scale the k chosen probabilities to sum to 1
};

class MoeFeedForward final : public FeedForward {
 public:
  MoeFeedForward(MoeWeights w, MoeRouting routing);
  void forward(ForwardContext& ctx, const float* x, float* out) const override;
  void visit_matmul_weights(const WeightVisitor& visit) override;

  int64_t n_expert() const { return static_cast<int64_t>(w_.gate.size()); }

 private:
  MoeWeights w_;
  MoeRouting routing_;
};

// The k experts of one token and their weights, from its router logits
// (softmax in double; ties go to the lower expert index, like a stable sort).
void moe_select(const float* logits, int64_t n_expert, const MoeRouting& routing, int32_t* experts,
                float* weights);

}  // namespace ma
