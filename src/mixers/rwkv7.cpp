#include "mixers/rwkv7.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "backend/cpu/rwkv7.h"
#include "core/error.h"

namespace ma {
namespace {

enum : int {
  kWsMixed = kWsMixerFirst,  // [6 x T x C] token-shifted inputs: r, w, k, v, a, g
  kWsR,                      // [T x C] receptance
  kWsDecay,                  // [T x C] w
  kWsKey,                    // [T x C] k, then k (1 + (a - 1) k_a)
  kWsValue,                  // [T x C] v, after the value residual
  kWsIclr,                   // [T x C] a, the in-context learning rate
  kWsGateOut,                // [T x C] g
  kWsRemoval,                // [T x C] -kk
  kWsReplacement,            // [T x C] kk * a
  kWsLowRank,                // [T x rank] hidden row of a low-rank pair
  kWsValueMix,               // [T x C] the value-residual mix before its sigmoid
  kWsWkvOut,                 // [T x C]
};

// Batches from one chunk of tokens up take the chunked wkv kernel, shorter
// ones (decode) the recurrent one. bench/bench_rwkv7_wkv.cpp, 12 heads of 64,
// 2 threads of this project's 2-core AMD EPYC machine (AVX2): 512 tokens take
// 2.6 ms chunked and 3.8 ms recurrent; 16 tokens 71 and 106 us; 4 tokens 34
// and 27 us; one token 22 and 7.4 us.
constexpr int64_t kChunkedMinTokens = cpu::kRwkv7Chunk;

float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

void check_vector(const std::vector<float>& v, int64_t n, const char* name) {
  if (static_cast<int64_t>(v.size()) != n) {
    throw Error(std::string("RWKV-7 time mix: ") + name + " has " + std::to_string(v.size()) +
                " values, expected " + std::to_string(n));
  }
}

void check_matrix(const Weight& w, int64_t in, int64_t out, const char* name) {
  if (w.in != in || w.out != out) {
    throw Error(std::string("RWKV-7 time mix: ") + name + " is {" + std::to_string(w.in) + ", " +
                std::to_string(w.out) + "}, expected {" + std::to_string(in) + ", " +
                std::to_string(out) + "}");
  }
}

}  // namespace

Rwkv7TimeMix::Rwkv7TimeMix(Rwkv7TimeMixWeights w, Rwkv7Shape shape, bool first_layer)
    : w_(std::move(w)), shape_(shape), first_layer_(first_layer) {
  const auto& s = shape_;
  if (s.head_size <= 0 || s.head_size > cpu::kRwkv7MaxHeadSize || s.n_embd <= 0 ||
      s.n_embd % s.head_size != 0 || s.rank_decay <= 0 || s.rank_iclr <= 0 || s.rank_gate <= 0 ||
      (!first_layer && s.rank_value <= 0)) {
    throw Error("RWKV-7 time mix: invalid shape (n_embd " + std::to_string(s.n_embd) +
                ", head size " + std::to_string(s.head_size) + " (at most " +
                std::to_string(cpu::kRwkv7MaxHeadSize) + "), low-rank widths " +
                std::to_string(s.rank_decay) + "/" + std::to_string(s.rank_iclr) + "/" +
                std::to_string(s.rank_value) + "/" + std::to_string(s.rank_gate) + ")");
  }
  const int64_t c = s.n_embd;
  check_vector(w_.lerp, kLerpCount * c, "time_mix_lerp_fused");
  for (auto [v, name] : {std::pair{&w_.w0, "time_mix_w0"},
                         {&w_.a0, "time_mix_a0"},
                         {&w_.k_k, "time_mix_k_k"},
                         {&w_.k_a, "time_mix_k_a"},
                         {&w_.r_k, "time_mix_r_k"},
                         {&w_.ln_w, "time_mix_ln.weight"},
                         {&w_.ln_b, "time_mix_ln.bias"}}) {
    check_vector(*v, c, name);
  }
  for (auto [m, name] : {std::pair{&w_.receptance, "time_mix_receptance"},
                         {&w_.key, "time_mix_key"},
                         {&w_.value, "time_mix_value"},
                         {&w_.output, "time_mix_output"}}) {
    check_matrix(*m, c, c, name);
  }
  check_matrix(w_.w1, c, s.rank_decay, "time_mix_w1");
  check_matrix(w_.w2, s.rank_decay, c, "time_mix_w2");
  check_matrix(w_.a1, c, s.rank_iclr, "time_mix_a1");
  check_matrix(w_.a2, s.rank_iclr, c, "time_mix_a2");
  check_matrix(w_.g1, c, s.rank_gate, "time_mix_g1");
  check_matrix(w_.g2, s.rank_gate, c, "time_mix_g2");
  if (!first_layer) {
    check_vector(w_.v0, c, "time_mix_v0");
    check_matrix(w_.v1, c, s.rank_value, "time_mix_v1");
    check_matrix(w_.v2, s.rank_value, c, "time_mix_v2");
  }
}

void Rwkv7TimeMix::visit_matmul_weights(const WeightVisitor& visit) {
  for (Weight* m : {&w_.receptance, &w_.key, &w_.value, &w_.output, &w_.w1, &w_.w2, &w_.a1, &w_.a2,
                    &w_.g1, &w_.g2}) {
    visit(*m);
  }
  if (!first_layer_) {
    visit(w_.v1);
    visit(w_.v2);
  }
}

void Rwkv7TimeMix::prepare(ForwardContext& ctx, const float* x, float* shift) const {
  const int64_t n = ctx.n_tokens, c = shape_.n_embd, hs = shape_.head_size;
  const auto tc = static_cast<size_t>(n * c);
  const int64_t max_rank =
      std::max({shape_.rank_decay, shape_.rank_iclr, shape_.rank_value, shape_.rank_gate});
  float* mixed = ctx.ws.get(kWsMixed, kLerpCount * tc);
  float* r = ctx.ws.get(kWsR, tc);
  float* w = ctx.ws.get(kWsDecay, tc);
  float* k = ctx.ws.get(kWsKey, tc);
  float* v = ctx.ws.get(kWsValue, tc);
  float* a = ctx.ws.get(kWsIclr, tc);
  float* g = ctx.ws.get(kWsGateOut, tc);
  float* removal = ctx.ws.get(kWsRemoval, tc);
  float* replacement = ctx.ws.get(kWsReplacement, tc);
  float* hidden = ctx.ws.get(kWsLowRank, static_cast<size_t>(n * max_rank));
  float* v_first = ctx.ws.get(kWsFirstLayerValues, tc);

  // Token shift: input m of token t is x_t + (x_{t-1} - x_t) * lerp_m.
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * c;
    const float* prev = t == 0 ? shift : xt - c;
    for (int m = 0; m < kLerpCount; ++m) {
      float* dst = mixed + m * tc + t * c;
      const float* mu = w_.lerp.data() + m * c;
      for (int64_t i = 0; i < c; ++i) dst[i] = xt[i] + (prev[i] - xt[i]) * mu[i];
    }
  }
  std::copy(x + (n - 1) * c, x + n * c, shift);

  auto input = [&](int m) { return mixed + m * tc; };
  cpu::matmul(ctx.pool, w_.receptance, input(kLerpR), n, r, ctx.matmul);
  cpu::matmul(ctx.pool, w_.key, input(kLerpK), n, k, ctx.matmul);
  cpu::matmul(ctx.pool, w_.value, input(kLerpV), n, v, ctx.matmul);
  // y = w2 f(w1 x) for a low-rank pair.
  auto low_rank = [&](const Weight& w1, const Weight& w2, const float* in, float* y, auto f) {
    cpu::matmul(ctx.pool, w1, in, n, hidden, ctx.matmul);
    for (int64_t i = 0; i < n * w1.out; ++i) hidden[i] = f(hidden[i]);
    cpu::matmul(ctx.pool, w2, hidden, n, y, ctx.matmul);
  };
  const auto identity = [](float h) { return h; };
  low_rank(w_.w1, w_.w2, input(kLerpW), w, [](float h) { return std::tanh(h); });
  low_rank(w_.a1, w_.a2, input(kLerpA), a, identity);
  low_rank(w_.g1, w_.g2, input(kLerpG), g, sigmoid);
  if (first_layer_) {
    std::copy(v, v + tc, v_first);
  } else {
    float* mix = ctx.ws.get(kWsValueMix, tc);
    low_rank(w_.v1, w_.v2, input(kLerpV), mix, identity);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < c; ++i) {
        const int64_t e = t * c + i;
        v[e] += (v_first[e] - v[e]) * sigmoid(w_.v0[i] + mix[e]);
      }
    }
  }

  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < c; ++i) {
      const int64_t e = t * c + i;
      w[e] = std::exp(static_cast<float>(-kRwkv7DecayScale) * sigmoid(w_.w0[i] + w[e]));
      a[e] = sigmoid(w_.a0[i] + a[e]);
    }
    // kk = normalise(k * k_k) per head; the key keeps a share of itself set by a.
    for (int64_t h0 = 0; h0 < c; h0 += hs) {
      const int64_t off = t * c + h0;
      double ss = 0;
      for (int64_t j = 0; j < hs; ++j) {
        const float kk = k[off + j] * w_.k_k[h0 + j];
        ss += static_cast<double>(kk) * kk;
      }
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
      for (int64_t j = 0; j < hs; ++j) {
        const int64_t e = off + j;
        const float kk = k[e] * w_.k_k[h0 + j] * inv;
        removal[e] = -kk;
        replacement[e] = kk * a[e];
        k[e] *= 1.0f + (a[e] - 1.0f) * w_.k_a[h0 + j];
      }
    }
  }
}

void Rwkv7TimeMix::forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const {
  const int64_t n = ctx.n_tokens, c = shape_.n_embd, hs = shape_.head_size;
  const auto tc = static_cast<size_t>(n * c);
  const Rwkv7SlotLayout lay = layout();
  float* state = ctx.state.recurrent.slot(slot);
  prepare(ctx, x, state + lay.time_shift());

  const float* r = ctx.ws.get(kWsR, tc);
  const float* k = ctx.ws.get(kWsKey, tc);
  const float* v = ctx.ws.get(kWsValue, tc);
  float* g = ctx.ws.get(kWsGateOut, tc);
  float* y = ctx.ws.get(kWsWkvOut, tc);
  const cpu::Rwkv7WkvInputs in{r, ctx.ws.get(kWsDecay, tc),   k,
                               v, ctx.ws.get(kWsRemoval, tc), ctx.ws.get(kWsReplacement, tc)};
  const cpu::Rwkv7WkvShape ws{n, shape_.n_head(), hs};
  if (n >= kChunkedMinTokens) {
    cpu::rwkv7_wkv_chunked(ctx.pool, in, ws, state + lay.wkv(), y);
  } else {
    cpu::rwkv7_wkv_recurrent(ctx.pool, in, ws, state + lay.wkv(), y);
  }

  // Group norm per head, the r.k bonus on v, the gate.
  const auto eps = static_cast<float>(shape_.group_norm_eps);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h0 = 0; h0 < c; h0 += hs) {
      const int64_t off = t * c + h0;
      cpu::layer_norm(y + off, w_.ln_w.data() + h0, w_.ln_b.data() + h0, 1, hs, eps, y + off);
      float bonus = 0;
      for (int64_t j = 0; j < hs; ++j) bonus += r[off + j] * k[off + j] * w_.r_k[h0 + j];
      for (int64_t j = 0; j < hs; ++j) y[off + j] = (y[off + j] + bonus * v[off + j]) * g[off + j];
    }
  }
  cpu::matmul(ctx.pool, w_.output, y, n, out, ctx.matmul);
}

}  // namespace ma
