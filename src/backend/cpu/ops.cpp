#include "backend/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "backend/cpu/attention_tiled.h"
#include "backend/cpu/dot_kernels.h"
#include "core/fp16.h"
#include "quant/quantize.h"

namespace ma::cpu {

void rms_norm(const float* x, const float* weight, int64_t n_tokens, int64_t dim, float eps,
              float* y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* xt = x + t * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xt[i]) * xt[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    float* yt = y + t * dim;
    for (int64_t i = 0; i < dim; ++i) yt[i] = xt[i] * inv * weight[i];
  }
}

void layer_norm(const float* x, const float* weight, const float* bias, int64_t n_tokens,
                int64_t dim, float eps, float* y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* xt = x + t * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += xt[i];
    const float mean = static_cast<float>(sum / static_cast<double>(dim));
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xt[i] - mean) * (xt[i] - mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    float* yt = y + t * dim;
    for (int64_t i = 0; i < dim; ++i) {
      yt[i] = (xt[i] - mean) * inv * weight[i] + (bias ? bias[i] : 0.0f);
    }
  }
}

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int64_t* positions,
          const RopeParams& p) {
  const int64_t half = p.n_dims / 2;
  float cs[512], sn[512];  // head dims up to 1024
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      double c, s;
      rope_angle(p, positions[t], i, &c, &s);
      cs[i] = static_cast<float>(c);
      sn[i] = static_cast<float>(s);
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      if (p.mode == RopeMode::kNormal) {
        for (int64_t i = 0; i < half; ++i) {
          const float x0 = v[2 * i], x1 = v[2 * i + 1];
          v[2 * i] = x0 * cs[i] - x1 * sn[i];
          v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
        }
      } else {
        for (int64_t i = 0; i < half; ++i) {
          const float x0 = v[i], x1 = v[i + half];
          v[i] = x0 * cs[i] - x1 * sn[i];
          v[i + half] = x0 * sn[i] + x1 * cs[i];
        }
      }
    }
  }
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void geglu(const float* gate, const float* up, int64_t n, float* out) {
  constexpr float kSqrt2OverPi = 0.7978845608f;
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = 0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * (g + 0.044715f * g * g * g))) * up[i];
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void add_bias(float* y, const float* bias, int64_t n_tokens, int64_t dim) {
  for (int64_t t = 0; t < n_tokens; ++t) add_inplace(y + t * dim, bias, dim);
}

void embedding(const Weight& table, const int32_t* tokens, int64_t n_tokens, float* out) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    dequantize_row(table.type, table.row(tokens[t]), out + t * table.in, table.in);
  }
}

namespace {

// From this many queries on, the tiled kernel's shared key/value conversion
// and GEMM blocking beat one dot / axpy per (query, key) pair.
constexpr int64_t kMinTiledQueries = 2;

// MA_CPU_TILED_ATTENTION=0 keeps prompts on the per-head loop (the op tests
// run both kernels).
bool tiled_attention_enabled() {
  const char* v = std::getenv("MA_CPU_TILED_ATTENTION");
  return v == nullptr || std::string(v) != "0";
}

// acc += p * v for a cached row of either type.
inline void axpy_row(const DotKernels& dk, float* acc, float p, const KvLayerView& kv, int64_t off,
                     int64_t d) {
  if (kv.type == KvType::kF32) {
    dk.axpy_f32(acc, p, static_cast<const float*>(kv.v) + off, d);
  } else {
    dk.axpy_f16(acc, p, static_cast<const uint16_t*>(kv.v) + off, d);
  }
}

}  // namespace

void attention_paged(ThreadPool& pool, const float* q, const int64_t* q_pos, int64_t n_q,
                     const KvLayerView& kv, int64_t n_kv, const ref::AttentionShape& sh, float* out,
                     AttentionScratch& scratch) {
  if (n_q >= kMinTiledQueries && tiled_attention_enabled()) {
    attention_tiled(pool, q, q_pos, n_q, kv, n_kv, sh, out, scratch);
    return;
  }
  const DotKernels& dk = dot_kernels();
  const int64_t d = sh.head_dim;
  const int64_t group = sh.n_head / sh.n_head_kv;
  const float scale = static_cast<float>(sh.scale);
  const float softcap = static_cast<float>(sh.softcap);
  scratch.ensure_threads(pool.size());
  for (int i = 0; i < pool.size(); ++i) scratch.scores(i, n_kv);
  pool.run([&](int ith, int nth) {
    float* scores = scratch.scores(ith, n_kv);
    for (int64_t job = ith; job < n_q * sh.n_head; job += nth) {
      const int64_t t = job / sh.n_head;
      const int64_t h = job % sh.n_head;
      const int64_t g = h / group;
      const float* qv = q + (t * sh.n_head + h) * d;
      float* o = out + (t * sh.n_head + h) * d;
      const int64_t last = std::min(q_pos[t], n_kv - 1);
      const int64_t first = sh.window > 0 ? std::max<int64_t>(0, q_pos[t] - sh.window + 1) : 0;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t s = first; s <= last; ++s) {
        const int64_t off = kv.offset(s) + g * d;
        float dot = kv.type == KvType::kF32
                        ? dk.f32(static_cast<const float*>(kv.k) + off, qv, d)
                        : dk.f16(static_cast<const uint16_t*>(kv.k) + off, qv, d);
        dot *= scale;
        if (softcap > 0) dot = softcap * std::tanh(dot / softcap);
        scores[s] = dot;
        mx = std::max(mx, dot);
      }
      float sum = 0;
      for (int64_t s = first; s <= last; ++s) {
        scores[s] = std::exp(scores[s] - mx);
        sum += scores[s];
      }
      std::fill(o, o + d, 0.0f);
      const float inv = sum > 0 ? 1.0f / sum : 0.0f;
      for (int64_t s = first; s <= last; ++s) {
        axpy_row(dk, o, scores[s] * inv, kv, kv.offset(s) + g * d, d);
      }
    }
  });
}

}  // namespace ma::cpu
