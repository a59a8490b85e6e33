#include "ops/reference_rwkv7.h"

#include <algorithm>
#include <cmath>

#include "ops/reference_ops.h"

namespace ma::ref {
namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// y [T x out] = w2 f(w1 x) for a low-rank pair, f applied to the hidden row.
template <typename Fn>
std::vector<double> low_rank(const Weight& w1, const Weight& w2, const double* x, int64_t n, Fn f) {
  std::vector<double> hidden(static_cast<size_t>(n * w1.out));
  std::vector<double> y(static_cast<size_t>(n * w2.out));
  matmul(w1, x, n, hidden.data());
  for (double& h : hidden) h = f(h);
  matmul(w2, hidden.data(), n, y.data());
  return y;
}

}  // namespace

void rwkv7_wkv(const double* r, const double* w, const double* k, const double* v, const double* a,
               const double* b, int64_t n_tokens, int64_t n_head, int64_t head_size, double* state,
               double* y) {
  const int64_t n = head_size, c = n_head * head_size;
  std::vector<double> removed(static_cast<size_t>(n));  // a^T h, one value per value channel
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t hd = 0; hd < n_head; ++hd) {
      double* h = state + hd * n * n;
      const int64_t off = t * c + hd * n;
      for (int64_t i = 0; i < n; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) acc += a[off + j] * h[j * n + i];
        removed[static_cast<size_t>(i)] = acc;
      }
      for (int64_t i = 0; i < n; ++i) {
        double out = 0;
        for (int64_t j = 0; j < n; ++j) {
          double& hji = h[j * n + i];
          hji = hji * w[off + j] + b[off + j] * removed[static_cast<size_t>(i)] +
                k[off + j] * v[off + i];
          out += r[off + j] * hji;
        }
        y[off + i] = out;
      }
    }
  }
}

void rwkv7_time_mix(const Rwkv7TimeMixWeights& w, const Rwkv7Shape& s, bool first_layer,
                    const double* x, int64_t n_tokens, double* shift, double* wkv, double* v_first,
                    double* out) {
  const int64_t c = s.n_embd, nh = s.n_head(), hs = s.head_size, tc = n_tokens * c;
  const auto size = static_cast<size_t>(tc);

  // Token shift: each of the six inputs leans towards the previous token.
  std::vector<std::vector<double>> mixed(kLerpCount, std::vector<double>(size));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double* prev = t == 0 ? shift : x + (t - 1) * c;
    for (int m = 0; m < kLerpCount; ++m) {
      for (int64_t i = 0; i < c; ++i) {
        const double xi = x[t * c + i];
        mixed[m][static_cast<size_t>(t * c + i)] = xi + (prev[i] - xi) * w.lerp[m * c + i];
      }
    }
  }
  std::copy(x + (n_tokens - 1) * c, x + tc, shift);

  std::vector<double> r(size), k(size), v(size), y(size);
  matmul(w.receptance, mixed[kLerpR].data(), n_tokens, r.data());
  matmul(w.key, mixed[kLerpK].data(), n_tokens, k.data());
  matmul(w.value, mixed[kLerpV].data(), n_tokens, v.data());
  auto decay =
      low_rank(w.w1, w.w2, mixed[kLerpW].data(), n_tokens, [](double h) { return std::tanh(h); });
  auto iclr = low_rank(w.a1, w.a2, mixed[kLerpA].data(), n_tokens, [](double h) { return h; });
  auto gate = low_rank(w.g1, w.g2, mixed[kLerpG].data(), n_tokens, sigmoid);
  std::vector<double> value_mix;
  if (!first_layer) {
    value_mix = low_rank(w.v1, w.v2, mixed[kLerpV].data(), n_tokens, [](double h) { return h; });
  }

  std::vector<double> removal(size), replacement(size);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < c; ++i) {
      const auto e = static_cast<size_t>(t * c + i);
      decay[e] = std::exp(-kRwkv7DecayScale * sigmoid(w.w0[i] + decay[e]));
      iclr[e] = sigmoid(w.a0[i] + iclr[e]);
      if (first_layer) {
        v_first[e] = v[e];
      } else {
        v[e] += (v_first[e] - v[e]) * sigmoid(w.v0[i] + value_mix[e]);
      }
    }
    // The removal key kk: k * k_k normalised per head (F.normalize, eps 1e-12).
    for (int64_t h = 0; h < nh; ++h) {
      const int64_t off = t * c + h * hs;
      double ss = 0;
      for (int64_t j = 0; j < hs; ++j) {
        const double kk = k[static_cast<size_t>(off + j)] * w.k_k[h * hs + j];
        ss += kk * kk;
      }
      const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
      for (int64_t j = 0; j < hs; ++j) {
        const auto e = static_cast<size_t>(off + j);
        const double kk = k[e] * w.k_k[h * hs + j] * inv;
        removal[e] = -kk;
        replacement[e] = kk * iclr[e];
        k[e] *= 1.0 + (iclr[e] - 1.0) * w.k_a[h * hs + j];
      }
    }
  }

  rwkv7_wkv(r.data(), decay.data(), k.data(), v.data(), removal.data(), replacement.data(),
            n_tokens, nh, hs, wkv, y.data());

  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < nh; ++h) {
      const int64_t off = t * c + h * hs;
      layer_norm(y.data() + off, w.ln_w.data() + h * hs, w.ln_b.data() + h * hs, 1, hs,
                 s.group_norm_eps, y.data() + off);
      double bonus = 0;
      for (int64_t j = 0; j < hs; ++j) bonus += r[off + j] * k[off + j] * w.r_k[h * hs + j];
      for (int64_t j = 0; j < hs; ++j) {
        const auto e = static_cast<size_t>(off + j);
        y[e] = (y[e] + bonus * v[e]) * gate[e];
      }
    }
  }
  matmul(w.output, y.data(), n_tokens, out);
}

void rwkv7_channel_mix(const std::vector<float>& lerp_k, const Weight& key, const Weight& value,
                       const double* x, int64_t n_tokens, double* shift, double* out) {
  const int64_t c = key.in;
  std::vector<double> mixed(static_cast<size_t>(n_tokens * c));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double* prev = t == 0 ? shift : x + (t - 1) * c;
    for (int64_t i = 0; i < c; ++i) {
      const double xi = x[t * c + i];
      mixed[static_cast<size_t>(t * c + i)] = xi + (prev[i] - xi) * lerp_k[static_cast<size_t>(i)];
    }
  }
  std::copy(x + (n_tokens - 1) * c, x + n_tokens * c, shift);
  std::vector<double> hidden(static_cast<size_t>(n_tokens * key.out));
  matmul(key, mixed.data(), n_tokens, hidden.data());
  for (double& h : hidden) h = h > 0 ? h * h : 0.0;
  matmul(value, hidden.data(), n_tokens, out);
}

}  // namespace ma::ref
