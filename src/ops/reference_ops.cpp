#include "ops/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/quantize.h"

namespace ma::ref {

void matmul(const Weight& w, const double* x, int64_t n_tokens, double* y) {
  std::vector<float> row(static_cast<size_t>(w.in));
  for (int64_t r = 0; r < w.out; ++r) {
    dequantize_row(w.type, w.row(r), row.data(), w.in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double s = 0;
      for (int64_t i = 0; i < w.in; ++i)
        s += static_cast<double>(row[static_cast<size_t>(i)]) * x[t * w.in + i];
      y[t * w.out + r] = s;
    }
  }
}

void rms_norm(const double* x, const float* weight, int64_t n_tokens, int64_t dim, double eps,
              double* y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += x[t * dim + i] * x[t * dim + i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) y[t * dim + i] = x[t * dim + i] * inv * weight[i];
  }
}

void layer_norm(const double* x, const float* weight, const float* bias, int64_t n_tokens,
                int64_t dim, double eps, double* y) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i) mean += x[t * dim + i];
    mean /= static_cast<double>(dim);
    for (int64_t i = 0; i < dim; ++i) var += (x[t * dim + i] - mean) * (x[t * dim + i] - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) {
      y[t * dim + i] = (x[t * dim + i] - mean) * inv * weight[i] + (bias ? bias[i] : 0.0);
    }
  }
}

void rope(double* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int64_t* positions,
          const RopeParams& p) {
  const int64_t half = p.n_dims / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < n_heads; ++h) {
      double* v = x + (t * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        double c, s;
        rope_angle(p, positions[t], i, &c, &s);
        const int64_t a = p.mode == RopeMode::kNormal ? 2 * i : i;
        const int64_t b = p.mode == RopeMode::kNormal ? 2 * i + 1 : i + half;
        const double x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

void attention(const double* q, const int64_t* q_pos, int64_t n_q, const double* k, const double* v,
               const int64_t* k_pos, int64_t n_kv, const AttentionShape& sh, double* out) {
  const int64_t d = sh.head_dim;
  const int64_t group = sh.n_head / sh.n_head_kv;
  std::vector<double> scores(static_cast<size_t>(n_kv));
  for (int64_t t = 0; t < n_q; ++t) {
    for (int64_t h = 0; h < sh.n_head; ++h) {
      const int64_t g = h / group;
      const double* qv = q + (t * sh.n_head + h) * d;
      double* o = out + (t * sh.n_head + h) * d;
      for (int64_t s = 0; s < n_kv; ++s) {
        const bool visible =
            k_pos[s] <= q_pos[t] && (sh.window <= 0 || q_pos[t] - k_pos[s] < sh.window);
        if (!visible) {
          scores[static_cast<size_t>(s)] = -std::numeric_limits<double>::infinity();
          continue;
        }
        const double* kv = k + (s * sh.n_head_kv + g) * d;
        double dot = 0;
        for (int64_t i = 0; i < d; ++i) dot += qv[i] * kv[i];
        dot *= sh.scale;
        if (sh.softcap > 0) dot = sh.softcap * std::tanh(dot / sh.softcap);
        scores[static_cast<size_t>(s)] = dot;
      }
      softmax(scores.data(), n_kv);
      std::fill(o, o + d, 0.0);
      for (int64_t s = 0; s < n_kv; ++s) {
        const double p = scores[static_cast<size_t>(s)];
        if (p == 0) continue;
        const double* vv = v + (s * sh.n_head_kv + g) * d;
        for (int64_t i = 0; i < d; ++i) o[i] += p * vv[i];
      }
    }
  }
}

void swiglu(const double* gate, const double* up, int64_t n, double* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
}

void geglu(const double* gate, const double* up, int64_t n, double* out) {
  constexpr double kSqrt2OverPi = 0.79788456080286535588;
  for (int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    const double gelu = 0.5 * g * (1.0 + std::tanh(kSqrt2OverPi * (g + 0.044715 * g * g * g)));
    out[i] = gelu * up[i];
  }
}

std::vector<double> embedding_row(const Weight& table, int64_t token) {
  std::vector<float> row(static_cast<size_t>(table.in));
  dequantize_row(table.type, table.row(token), row.data(), table.in);
  return {row.begin(), row.end()};
}

void softmax(double* x, int64_t n) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  if (mx == -std::numeric_limits<double>::infinity()) {
    std::fill(x, x + n, 0.0);
    return;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  for (int64_t i = 0; i < n; ++i) x[i] /= sum;
}

}  // namespace ma::ref
