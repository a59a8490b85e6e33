#include "mixers/zamba2_hybrid.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "core/error.h"
#include "state/kv_cache.h"

namespace ma {
namespace {

// Scratch ids past the four the inner Mamba-2 mixer uses from kWsMixerFirst,
// so the Mamba input survives its call.
enum : int {
  kWsConcat = kWsMixerFirst + 8,  // [n x 2 * n_embd]
  kWsShared,                      // [n x n_embd] the block's attention, then MLP output
  kWsMambaIn,                     // [n x n_embd]
  kWsRank,                        // [n x rank]
  kWsLora,                        // [n x adapter out]
};

void add_adapter(ForwardContext& ctx, const LowRankAdapter& ad, const float* x, float* y) {
  if (!ad.present()) return;
  const int64_t n = ctx.n_tokens;
  float* r = ctx.ws.get(kWsRank, static_cast<size_t>(n * ad.a.out));
  float* z = ctx.ws.get(kWsLora, static_cast<size_t>(n * ad.b.out));
  cpu::matmul(ctx.pool, ad.a, x, n, r, ctx.matmul);
  cpu::matmul(ctx.pool, ad.b, r, n, z, ctx.matmul);
  cpu::add_inplace(y, z, n * ad.b.out);
}

float activate(Zamba2Activation act, float g) {
  switch (act) {
    case Zamba2Activation::kGelu:
      return 0.5f * g * (1.0f + std::erf(g * 0.70710678118654752f));
    case Zamba2Activation::kGeluTanh: {
      const float c = 0.7978845608028654f;  // sqrt(2 / pi)
      return 0.5f * g * (1.0f + std::tanh(c * (g + 0.044715f * g * g * g)));
    }
    case Zamba2Activation::kSilu:
      return g / (1.0f + std::exp(-g));
  }
  return g;
}

}  // namespace

Zamba2HybridLayer::Zamba2HybridLayer(std::shared_ptr<Zamba2SharedBlock> shared, bool visits_shared,
                                     Zamba2Adapters adapters, Weight linear,
                                     std::vector<float> mamba_norm,
                                     std::unique_ptr<Mamba2Mixer> mamba, Zamba2HybridShape shape)
    : shared_(std::move(shared)),
      visits_shared_(visits_shared),
      adapters_(adapters),
      linear_(linear),
      mamba_norm_(std::move(mamba_norm)),
      mamba_(std::move(mamba)),
      shape_(shape) {
  if (!shared_ || !mamba_) throw Error("Zamba2HybridLayer: missing shared block or Mamba-2 mixer");
}

void Zamba2HybridLayer::visit_matmul_weights(const WeightVisitor& visit) {
  if (visits_shared_) {
    Zamba2SharedBlock& s = *shared_;
    for (Weight* w : {&s.wq, &s.wk, &s.wv, &s.wo, &s.gate_up, &s.down}) visit(*w);
  }
  visit(linear_);
  mamba_->visit_matmul_weights(visit);
}

void Zamba2HybridLayer::forward(ForwardContext& ctx, const float* x, float* out,
                                int64_t slot) const {
  const Zamba2SharedBlock& s = *shared_;
  const ref::AttentionShape& as = shape_.attention;
  const int64_t n = ctx.n_tokens, e = shape_.n_embd, e2 = 2 * e, ff = shape_.n_ff;
  const int64_t q_dim = as.n_head * as.head_dim, kv_dim = as.n_head_kv * as.head_dim;
  if (ctx.embeddings == nullptr) throw Error("Zamba2HybridLayer: the embeddings are not set");

  // The shared block's input: the residual stream next to the embeddings.
  float* cat = ctx.ws.get(kWsConcat, static_cast<size_t>(n * e2));
  for (int64_t t = 0; t < n; ++t) {
    std::copy(x + t * e, x + (t + 1) * e, cat + t * e2);
    std::copy(ctx.embeddings + t * e, ctx.embeddings + (t + 1) * e, cat + t * e2 + e);
  }
  cpu::rms_norm(cat, s.attn_norm.data(), n, e2, shape_.norm_eps, cat);

  float* q = ctx.ws.get(kWsQ, static_cast<size_t>(n * q_dim));
  float* k = ctx.ws.get(kWsK, static_cast<size_t>(n * kv_dim));
  float* v = ctx.ws.get(kWsV, static_cast<size_t>(n * kv_dim));
  float* attn = ctx.ws.get(kWsAttnOut, static_cast<size_t>(n * q_dim));
  cpu::matmul(ctx.pool, s.wq, cat, n, q, ctx.matmul);
  cpu::matmul(ctx.pool, s.wk, cat, n, k, ctx.matmul);
  cpu::matmul(ctx.pool, s.wv, cat, n, v, ctx.matmul);
  add_adapter(ctx, adapters_.q, cat, q);
  add_adapter(ctx, adapters_.k, cat, k);
  add_adapter(ctx, adapters_.v, cat, v);
  if (shape_.rope.n_dims > 0) {
    cpu::rope(q, n, as.n_head, as.head_dim, ctx.positions, shape_.rope);
    cpu::rope(k, n, as.n_head_kv, as.head_dim, ctx.positions, shape_.rope);
  }
  KvCache& cache = *ctx.state.kv;
  for (int64_t t = 0; t < n; ++t) {
    cache.store(slot, ctx.state.kv_seq, ctx.positions[t], k + t * kv_dim, v + t * kv_dim);
  }
  const int64_t n_kv = ctx.positions[n - 1] + 1;
  cpu::attention_paged(ctx.pool, q, ctx.positions, n, cache.view(slot, ctx.state.kv_seq), n_kv, as,
                       attn, ctx.attention);
  float* h = ctx.ws.get(kWsShared, static_cast<size_t>(n * e));
  cpu::matmul(ctx.pool, s.wo, attn, n, h, ctx.matmul);

  // The shared MLP on the normalised attention output (no residual).
  cpu::rms_norm(h, s.ffn_norm.data(), n, e, shape_.norm_eps, h);
  float* gu = ctx.ws.get(kWsGate, static_cast<size_t>(n * 2 * ff));
  float* act = ctx.ws.get(kWsUp, static_cast<size_t>(n * ff));
  cpu::matmul(ctx.pool, s.gate_up, h, n, gu, ctx.matmul);
  add_adapter(ctx, adapters_.gate_up, h, gu);
  for (int64_t t = 0; t < n; ++t) {
    const float* g = gu + t * 2 * ff;
    for (int64_t j = 0; j < ff; ++j)
      act[t * ff + j] = activate(shape_.activation, g[j]) * g[ff + j];
  }
  cpu::matmul(ctx.pool, s.down, act, n, h, ctx.matmul);

  // Back to n_embd, added to the Mamba-2 layer's input only.
  float* m = ctx.ws.get(kWsMambaIn, static_cast<size_t>(n * e));
  cpu::matmul(ctx.pool, linear_, h, n, m, ctx.matmul);
  cpu::add_inplace(m, x, n * e);
  cpu::rms_norm(m, mamba_norm_.data(), n, e, shape_.norm_eps, m);
  mamba_->forward(ctx, m, out, ctx.layer_slot);
}

}  // namespace ma
