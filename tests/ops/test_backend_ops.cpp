// The backend seam's ops against their fp64 references, once per backend:
// the CPU column always, the CUDA column where a CUDA device is present
// (skipped, and said so, elsewhere). Tolerances from ops/tolerances.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "backend_ops_fixture.h"
#include "blocks/forward_context.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::BackendBox;
using test::BackendOps;
using test::nmse;
using test::random_floats;
using test::TestWeight;
using test::to_double;

double matmul_tolerance(GgmlType t, Device d, int64_t n_tokens) {
  return test::matmul_tolerance(t, d == Device::kCuda && n_tokens > 1);
}

TEST_P(BackendOps, MatmulMatchesReference) {
  auto b = box();
  uint32_t seed = 7;
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0,
                        GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    const int64_t block = ggml_type_traits(type).block_size;
    for (int64_t in : {block == 256 ? int64_t{256} : int64_t{64}, int64_t{512}}) {
      for (int64_t out : {int64_t{1}, int64_t{13}, int64_t{96}}) {
        for (int64_t n_tok : {int64_t{1}, int64_t{3}, int64_t{37}}) {
          const TestWeight& tw = b->weight(type, in, out, seed++);
          const auto x = random_floats(static_cast<size_t>(in * n_tok), seed++);
          const float* dx = b->put(100, x);
          float* dy = b->be->buffer(101, static_cast<size_t>(out * n_tok));
          b->be->matmul(tw.w, dx, n_tok, dy);
          const auto y = b->get(dy, static_cast<size_t>(out * n_tok));
          const auto xd = to_double(x);
          std::vector<double> yr(y.size());
          ref::matmul(tw.w, xd.data(), n_tok, yr.data());
          EXPECT_LT(nmse(y.data(), yr.data(), y.size()), matmul_tolerance(type, GetParam(), n_tok))
              << ggml_type_name(type) << " in=" << in << " out=" << out << " tokens=" << n_tok;
        }
      }
    }
  }
}

// q, k, v (or gate, up) read one input; a device may run them as one launch,
// also when their types differ (Q4_K_M's Q6_K v).
TEST_P(BackendOps, SharedInputProductsMatchReference) {
  auto b = box();
  const int64_t in = 512;
  const GgmlType mixes[][3] = {{GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::F16},
                               {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}};
  uint32_t seed = 61;
  for (const auto& types : mixes) {
    const TestWeight& wq = b->weight(types[0], in, 96, seed++);
    const TestWeight& wk = b->weight(types[1], in, 32, seed++);
    const TestWeight& wv = b->weight(types[2], in, 13, seed++);
    for (int64_t n_tok : {int64_t{1}, int64_t{5}}) {
      const auto x = random_floats(static_cast<size_t>(in * n_tok), seed++);
      const float* dx = b->put(100, x);
      float* y[3] = {b->be->buffer(101, 96 * n_tok), b->be->buffer(102, 32 * n_tok),
                     b->be->buffer(103, 13 * n_tok)};
      b->be->matmul_shared({{&wq.w, y[0]}, {&wk.w, y[1]}, {&wv.w, y[2]}}, dx, n_tok);
      const auto xd = to_double(x);
      int k = 0;
      for (const TestWeight* tw : {&wq, &wk, &wv}) {
        const auto got = b->get(y[k++], static_cast<size_t>(tw->w.out * n_tok));
        std::vector<double> want(got.size());
        ref::matmul(tw->w, xd.data(), n_tok, want.data());
        EXPECT_LT(nmse(got.data(), want.data(), got.size()),
                  matmul_tolerance(tw->w.type, GetParam(), n_tok))
            << ggml_type_name(tw->w.type) << " tokens=" << n_tok;
      }
    }
  }
}

// One token's products long enough that a device spreading the rows over a
// persistent grid gives each block many tiles (the CUDA streamed kernel
// refills its shared-memory stages), as gate and up read one input; for
// Q4_0 and the K-quants, whose tiles differ in size.
TEST_P(BackendOps, LongProductsMatchReference) {
  auto b = box();
  const int64_t in = 256, out = 12000;
  uint32_t seed = 81;
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    const TestWeight& gate = b->weight(type, in, out, seed);
    const TestWeight& up = b->weight(type, in, out, seed + 1);
    const auto x = random_floats(static_cast<size_t>(in), seed + 2);
    seed += 10;
    const float* dx = b->put(100, x);
    float* y[2] = {b->be->buffer(101, out), b->be->buffer(102, out)};
    b->be->matmul_shared({{&gate.w, y[0]}, {&up.w, y[1]}}, dx, 1);
    const auto xd = to_double(x);
    int k = 0;
    for (const TestWeight* tw : {&gate, &up}) {
      const auto got = b->get(y[k++], static_cast<size_t>(out));
      std::vector<double> want(got.size());
      ref::matmul(tw->w, xd.data(), 1, want.data());
      EXPECT_LT(nmse(got.data(), want.data(), got.size()), matmul_tolerance(type, GetParam(), 1))
          << ggml_type_name(type) << " weight " << k;
    }
  }
}

// A product whose output is added to the residual and normed, as o and down
// are, at shapes the layer tests do not reach: a wide input (9728, many
// loads per row) and more 32-output groups than an H100 has SMs (4480
// outputs, 140 groups; a device fusing the norm into the product gives
// each group a block), for Q4_0, Q4_K (which the CUDA device stores in
// Q4_0's shape) and Q6_K (Q4_K_M's down in some layers). Residual, product and norm are each
// checked, the norm through the next product's input. (The first shape's wide input sizes the int8
// buffers the second's norm writes into, which a fused norm needs.)
TEST_P(BackendOps, AddNormProductsMatchReference) {
  auto b = box();
  const struct { int64_t in, out; } shapes[] = {{9728, 64}, {256, 4480}};
  uint32_t seed = 90;
  const GgmlType types[] = {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K};
  for (int i = 0; i < 6; ++i) {
    const auto& s = shapes[i % 2];
    const GgmlType type = types[i / 2];
    const TestWeight& wt = b->weight(type, s.in, s.out, seed);
    const TestWeight& next = b->weight(GgmlType::Q4_0, s.out, 64, seed + 1);
    const auto a = random_floats(static_cast<size_t>(s.in), seed + 2);
    const auto x0 = random_floats(static_cast<size_t>(s.out), seed + 3, 2.0f);
    const auto& nw = b->vector(random_floats(static_cast<size_t>(s.out), seed + 4));
    seed += 10;
    b->begin_decode_step();
    float* x = b->put(100, x0);
    float* y = b->be->buffer(101, s.out);
    float* xn = b->be->buffer(102, s.out);
    float* z = b->be->buffer(103, 64);
    b->be->matmul(wt.w, b->put(104, a), 1, y);
    b->be->add_norm(NormKind::kRms, x, y, nw, {}, 1, s.out, 1e-5f, xn);
    b->be->matmul(next.w, xn, 1, z);

    const size_t n = static_cast<size_t>(s.out);
    std::vector<double> ad = to_double(a), yr(n), xr(n), xnr(n), zr(64);
    ref::matmul(wt.w, ad.data(), 1, yr.data());
    for (size_t i = 0; i < n; ++i) xr[i] = x0[i] + yr[i];
    ref::rms_norm(xr.data(), nw.data(), 1, s.out, 1e-5, xnr.data());
    ref::matmul(next.w, xnr.data(), 1, zr.data());
    const std::string what = std::string(ggml_type_name(type)) + " in=" + std::to_string(s.in) +
                             " out=" + std::to_string(s.out);
    const double tol = tolerance::kQuantizedChainNmse;
    EXPECT_LT(nmse(b->get(y, n).data(), yr.data(), n), tol) << what << ": product";
    EXPECT_LT(nmse(b->get(x, n).data(), xr.data(), n), tol) << what << ": residual";
    EXPECT_LT(nmse(b->get(z, 64).data(), zr.data(), 64), tol) << what << ": next product";
    EXPECT_LT(nmse(b->get(xn, n).data(), xnr.data(), n), tol) << what << ": norm";
  }
}

// Gate and up products with the gated activation after them, as the FFN
// issues them, wide enough (Q4_0: 1024 groups of 32 outputs) that a device
// taking the activation into the products' launch fills the card with
// blocks of a group each (Q4_K: 256 groups, its quantization being slow to
// prepare); SiLU and tanh-GELU, both products and the
// activation checked, and the activation again through the next product
// (which reads its int8 copy), added to a residual and normed as down's is;
// Q4_0 and Q4_K. Each case runs twice: the first pass sizes the device's
// int8 buffers to the wide activation, which the fused launch needs.
TEST_P(BackendOps, GatedProductsMatchReference) {
  auto b = box();
  const int64_t in = 256, out = 64;
  uint32_t seed = 110;
  for (int i = 0; i < 4; ++i) {
    const GateActivation act = i % 2 == 0 ? GateActivation::kSilu : GateActivation::kGeluTanh;
    const GgmlType type = i < 2 ? GgmlType::Q4_0 : GgmlType::Q4_K;
    const int64_t ff = type == GgmlType::Q4_0 ? 32768 : 8192;
    const TestWeight& gate = b->weight(type, in, ff, seed);
    const TestWeight& up = b->weight(type, in, ff, seed + 1);
    const TestWeight& down = b->weight(type, ff, out, seed + 2);
    const auto x = random_floats(static_cast<size_t>(in), seed + 3);
    const auto r0 = random_floats(static_cast<size_t>(out), seed + 4, 2.0f);
    const auto& nw = b->vector(random_floats(static_cast<size_t>(out), seed + 5));
    seed += 10;
    const size_t n = static_cast<size_t>(ff);
    std::vector<double> xd = to_double(x), gr(n), ur(n), hr(n), yr(out), rr(out), zr(out);
    ref::matmul(gate.w, xd.data(), 1, gr.data());
    ref::matmul(up.w, xd.data(), 1, ur.data());
    if (act == GateActivation::kSilu) {
      ref::swiglu(gr.data(), ur.data(), ff, hr.data());
    } else {
      ref::geglu(gr.data(), ur.data(), ff, hr.data());
    }
    ref::matmul(down.w, hr.data(), 1, yr.data());
    for (size_t k = 0; k < static_cast<size_t>(out); ++k) rr[k] = r0[k] + yr[k];
    ref::rms_norm(rr.data(), nw.data(), 1, out, 1e-5, zr.data());
    for (int pass = 0; pass < 2; ++pass) {
      b->begin_decode_step();
      float* g = b->be->buffer(101, n);
      float* u = b->be->buffer(102, n);
      float* y = b->be->buffer(103, out);
      float* r = b->put(104, r0);
      float* z = b->be->buffer(105, out);
      b->be->matmul_shared({{&gate.w, g}, {&up.w, u}}, b->put(100, x), 1);
      b->be->gated(act, g, u, ff);
      b->be->matmul(down.w, g, 1, y);
      b->be->add_norm(NormKind::kRms, r, y, nw, {}, 1, out, 1e-5f, z);
      const std::string what = std::string(ggml_type_name(type)) +
                               (act == GateActivation::kSilu ? " SiLU" : " GELU") + " pass " +
                               std::to_string(pass);
      const double tol = tolerance::kQuantizedChainNmse;
      EXPECT_LT(nmse(b->get(u, n).data(), ur.data(), n), tol) << what << ": up";
      EXPECT_LT(nmse(b->get(g, n).data(), hr.data(), n), tol) << what << ": activation";
      EXPECT_LT(nmse(b->get(y, out).data(), yr.data(), out), tol) << what << ": next product";
      EXPECT_LT(nmse(b->get(r, out).data(), rr.data(), out), tol) << what << ": residual";
      EXPECT_LT(nmse(b->get(z, out).data(), zr.data(), out), tol) << what << ": norm";
    }
  }
}

// A decode step's norm with no product before it (the first layer's, after
// the embedding), plain and with a residual, read by the next product: a
// device may leave its factor to that product. The norm's output and the
// residual are checked too, read before the product (the factor applied
// on its own) and after it. The first pass sizes the device's int8
// buffers, which the pending factor needs.
TEST_P(BackendOps, DecodeNormIntoProductMatchesReference) {
  auto b = box();
  const int64_t dim = 512, out = 96;
  const TestWeight& next = b->weight(GgmlType::Q4_0, dim, out, 120);
  const auto x0 = random_floats(static_cast<size_t>(dim), 121, 2.0f);
  const auto r = random_floats(static_cast<size_t>(dim), 122);
  const auto& w = b->vector(random_floats(static_cast<size_t>(dim), 123));
  const size_t n = static_cast<size_t>(dim);
  for (bool residual : {false, true}) {
    std::vector<double> xr(n), yr(n), zr(out);
    for (size_t i = 0; i < n; ++i) xr[i] = x0[i] + (residual ? r[i] : 0.0f);
    ref::rms_norm(xr.data(), w.data(), 1, dim, 1e-5, yr.data());
    ref::matmul(next.w, yr.data(), 1, zr.data());
    for (int pass = 0; pass < 3; ++pass) {
      const bool read_first = pass == 2;
      b->begin_decode_step();
      float* x = b->put(100, x0);
      float* y = b->be->buffer(101, n);
      float* z = b->be->buffer(102, out);
      if (residual) {
        b->be->add_norm(NormKind::kRms, x, b->put(103, r), w, {}, 1, dim, 1e-5f, y);
      } else {
        b->be->norm(NormKind::kRms, x, w, {}, 1, dim, 1e-5f, y);
      }
      std::vector<float> got_y;
      if (read_first) got_y = b->get(y, n);
      b->be->matmul(next.w, y, 1, z);
      if (!read_first) got_y = b->get(y, n);
      const std::string what =
          std::string(residual ? "with residual" : "plain") + " pass " + std::to_string(pass);
      const double tol = tolerance::kQuantizedChainNmse;
      EXPECT_LT(nmse(got_y.data(), yr.data(), n), tolerance::kFp32Nmse) << what << ": norm";
      EXPECT_LT(nmse(b->get(x, n).data(), xr.data(), n), tolerance::kFp32Nmse) << what << ": x";
      EXPECT_LT(nmse(b->get(z, out).data(), zr.data(), out), tol) << what << ": next product";
    }
  }
}

TEST_P(BackendOps, NormsMatchReference) {
  auto b = box();
  for (int64_t dim : {8, 64, 333, 4096}) {
    const auto x = random_floats(static_cast<size_t>(5 * dim), 11, 3.0f);
    const auto& w = b->vector(random_floats(static_cast<size_t>(dim), 12));
    const auto& bias = b->vector(random_floats(static_cast<size_t>(dim), 13));
    const auto xd = to_double(x);
    std::vector<double> yr(x.size());
    for (NormKind kind : {NormKind::kRms, NormKind::kLayer}) {
      const float* dx = b->put(100, x);
      float* dy = b->be->buffer(101, x.size());
      b->be->norm(kind, dx, w, kind == NormKind::kLayer ? bias : std::vector<float>{}, 5, dim,
                  1e-5f, dy);
      const auto y = b->get(dy, x.size());
      if (kind == NormKind::kRms) {
        ref::rms_norm(xd.data(), w.data(), 5, dim, 1e-5, yr.data());
      } else {
        ref::layer_norm(xd.data(), w.data(), bias.data(), 5, dim, 1e-5, yr.data());
      }
      EXPECT_LT(nmse(y.data(), yr.data(), y.size()), tolerance::kFp32Nmse) << "dim=" << dim;
    }
  }
}

// x += r, then y = norm(x): both outputs checked.
TEST_P(BackendOps, AddNormMatchesReference) {
  auto b = box();
  for (int64_t rows : {1, 3}) {
    for (int64_t dim : {64, 333, 4096}) {
      const size_t n = static_cast<size_t>(rows * dim);
      const auto x = random_floats(n, 14, 3.0f), r = random_floats(n, 15);
      const auto& w = b->vector(random_floats(static_cast<size_t>(dim), 16));
      for (NormKind kind : {NormKind::kRms, NormKind::kLayer}) {
        float* dx = b->put(100, x);
        float* dy = b->be->buffer(101, n);
        b->be->add_norm(kind, dx, b->put(102, r), w, {}, rows, dim, 1e-5f, dy);
        std::vector<double> sum(n), want(n);
        for (size_t i = 0; i < n; ++i) sum[i] = static_cast<double>(x[i]) + r[i];
        if (kind == NormKind::kRms) {
          ref::rms_norm(sum.data(), w.data(), rows, dim, 1e-5, want.data());
        } else {
          ref::layer_norm(sum.data(), w.data(), nullptr, rows, dim, 1e-5, want.data());
        }
        EXPECT_LT(nmse(b->get(dx, n).data(), sum.data(), n), tolerance::kFp32Nmse);
        EXPECT_LT(nmse(b->get(dy, n).data(), want.data(), n), tolerance::kFp32Nmse)
            << "rows=" << rows << " dim=" << dim;
      }
    }
  }
}

// One decode step's chain as the model issues it: add_norm, the shared
// products, the gated activation and the down product. A device may hand
// the int8 copy of an op's output straight to the next product instead of
// quantizing again; the result must be the chain's.
TEST_P(BackendOps, DecodeChainMatchesReference) {
  auto b = box();
  const int64_t e = 256, ff = 512;
  const TestWeight& gate = b->weight(GgmlType::Q4_0, e, ff, 71);
  const TestWeight& up = b->weight(GgmlType::Q8_0, e, ff, 72);
  const TestWeight& down = b->weight(GgmlType::Q4_0, ff, e, 73);
  const auto x = random_floats(e, 74, 2.0f), r = random_floats(e, 75);
  const auto& w = b->vector(random_floats(e, 76));
  b->begin_decode_step();
  float* dx = b->put(100, x);
  float* xn = b->be->buffer(101, e);
  float* g = b->be->buffer(102, ff);
  float* u = b->be->buffer(103, ff);
  float* y = b->be->buffer(104, e);
  b->be->add_norm(NormKind::kRms, dx, b->put(105, r), w, {}, 1, e, 1e-5f, xn);
  b->be->matmul_shared({{&gate.w, g}, {&up.w, u}}, xn, 1);
  b->be->gated(GateActivation::kSilu, g, u, ff);
  b->be->matmul(down.w, g, 1, y);
  const auto got = b->get(y, e);

  std::vector<double> sum(e), xnr(e), gr(ff), ur(ff), want(e);
  for (int64_t i = 0; i < e; ++i) sum[i] = static_cast<double>(x[i]) + r[i];
  ref::rms_norm(sum.data(), w.data(), 1, e, 1e-5, xnr.data());
  ref::matmul(gate.w, xnr.data(), 1, gr.data());
  ref::matmul(up.w, xnr.data(), 1, ur.data());
  ref::swiglu(gr.data(), ur.data(), ff, gr.data());
  ref::matmul(down.w, gr.data(), 1, want.data());
  EXPECT_LT(nmse(got.data(), want.data(), e), tolerance::kQuantizedNmse);
}

// A decode layer's tail as the model issues it, with every weight of one
// quantized type: o, add_norm, gate/up, gated, down, add_norm, the head. A
// device may run each add_norm and the gated activation as the epilogue of
// the product before it and leave the RMS factor to the product after it;
// every intermediate the model can read afterwards must still hold its
// value. `read_norm` reads the second norm's output before the head (the
// factor then has to be applied on its own), `f16_head` gives the head
// float weights (which read floats, not the int8 copy).
void check_decode_layer_tail(BackendBox& b, GgmlType type, bool read_norm, bool f16_head,
                             uint32_t seed) {
  const int64_t e = 256, ff = 512, vocab = 96;
  const TestWeight& o = b.weight(type, e, e, seed);
  const TestWeight& gate = b.weight(type, e, ff, seed + 1);
  const TestWeight& up = b.weight(type, e, ff, seed + 2);
  const TestWeight& down = b.weight(type, ff, e, seed + 3);
  const TestWeight& head = b.weight(f16_head ? GgmlType::F16 : type, e, vocab, seed + 4);
  const auto a = random_floats(e, seed + 5), x0 = random_floats(e, seed + 6, 2.0f);
  const auto& w1 = b.vector(random_floats(e, seed + 7));
  const auto& w2 = b.vector(random_floats(e, seed + 8));
  b.begin_decode_step();
  const float* da = b.put(100, a);
  float* x = b.put(101, x0);
  float* xn = b.be->buffer(102, e);
  float* y = b.be->buffer(103, e);
  float* g = b.be->buffer(104, ff);
  float* u = b.be->buffer(105, ff);
  float* xn2 = b.be->buffer(106, e);
  float* logits = b.be->buffer(107, vocab);
  b.be->matmul(o.w, da, 1, y);
  b.be->add_norm(NormKind::kRms, x, y, w1, {}, 1, e, 1e-5f, xn);
  b.be->matmul_shared({{&gate.w, g}, {&up.w, u}}, xn, 1);
  b.be->gated(GateActivation::kSilu, g, u, ff);
  b.be->matmul(down.w, g, 1, y);
  b.be->add_norm(NormKind::kRms, x, y, w2, {}, 1, e, 1e-5f, xn2);
  std::vector<float> got_xn2;
  if (read_norm) got_xn2 = b.get(xn2, e);
  b.be->matmul(head.w, xn2, 1, logits);
  if (!read_norm) got_xn2 = b.get(xn2, e);

  std::vector<double> ad = to_double(a), x1(e), xn1(e), gr(ff), ur(ff), y2(e), x2(e), xn2r(e),
                      lr(vocab);
  ref::matmul(o.w, ad.data(), 1, x1.data());
  for (int64_t i = 0; i < e; ++i) x1[i] += x0[i];
  ref::rms_norm(x1.data(), w1.data(), 1, e, 1e-5, xn1.data());
  ref::matmul(gate.w, xn1.data(), 1, gr.data());
  ref::matmul(up.w, xn1.data(), 1, ur.data());
  ref::swiglu(gr.data(), ur.data(), ff, gr.data());
  ref::matmul(down.w, gr.data(), 1, y2.data());
  for (int64_t i = 0; i < e; ++i) x2[i] = x1[i] + y2[i];
  ref::rms_norm(x2.data(), w2.data(), 1, e, 1e-5, xn2r.data());
  ref::matmul(head.w, xn2r.data(), 1, lr.data());
  const std::string what = std::string(ggml_type_name(type)) + (read_norm ? " norm read" : "") +
                           (f16_head ? " f16 head" : "");
  const double tol = tolerance::kQuantizedChainNmse;
  EXPECT_LT(nmse(b.get(xn, e).data(), xn1.data(), e), tol) << what << ": first norm";
  EXPECT_LT(nmse(b.get(g, ff).data(), gr.data(), ff), tol) << what << ": gated";
  EXPECT_LT(nmse(b.get(y, e).data(), y2.data(), e), tol) << what << ": down";
  EXPECT_LT(nmse(b.get(x, e).data(), x2.data(), e), tol) << what << ": residual";
  EXPECT_LT(nmse(got_xn2.data(), xn2r.data(), e), tol) << what << ": second norm";
  EXPECT_LT(nmse(b.get(logits, vocab).data(), lr.data(), vocab), tol) << what << ": head";
}

TEST_P(BackendOps, DecodeLayerTailMatchesReference) {
  auto b = box();
  uint32_t seed = 200;
  for (GgmlType type :
       {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    for (bool read_norm : {false, true}) {
      for (bool f16_head : {false, true}) {
        check_decode_layer_tail(*b, type, read_norm, f16_head, seed);
        seed += 10;
      }
    }
  }
}

TEST_P(BackendOps, RopeMatchesReferenceForEveryMode) {
  auto b = box();
  std::vector<float> freq_factors = {1.0f, 1.0f, 2.0f, 4.0f, 8.0f, 8.0f, 8.0f, 8.0f};
  std::vector<RopeParams> variants(5);
  variants[1].mode = RopeMode::kNeox;
  variants[2].freq_scale = 0.25f;      // linear
  variants[3].mode = RopeMode::kNeox;  // YaRN
  variants[3].freq_scale = 0.125f;
  variants[3].ext_factor = 1.0f;
  variants[3].n_ctx_orig = 256;
  variants[4].freq_factors = freq_factors.data();  // llama3
  const int64_t positions[] = {0, 1, 7, 100, 1000, 4095, 70000};
  for (auto& p : variants) {
    p.n_dims = 16;
    const int64_t n_tok = 7, heads = 3, hd = 24;  // partial rotation: 16 of 24 dims
    const auto x = random_floats(static_cast<size_t>(n_tok * heads * hd), 21);
    float* dx = b->put(100, x);
    b->be->rope(dx, n_tok, heads, hd, positions, p);
    const auto y = b->get(dx, x.size());
    auto yr = to_double(x);
    ref::rope(yr.data(), n_tok, heads, hd, positions, p);
    EXPECT_LT(test::max_abs_diff(y.data(), yr.data(), y.size()), tolerance::kRopeMaxAbs);
  }
}

TEST_P(BackendOps, ElementwiseMatchReference) {
  auto b = box();
  const int64_t n = 1000;
  const auto g = random_floats(n, 31, 4.0f), u = random_floats(n, 32);
  const auto gd = to_double(g), ud = to_double(u);
  std::vector<double> want(n);
  for (GateActivation act : {GateActivation::kSilu, GateActivation::kGeluTanh}) {
    float* dg = b->put(100, g);
    b->be->gated(act, dg, b->put(101, u), n);
    const auto got = b->get(dg, n);
    if (act == GateActivation::kSilu) {
      ref::swiglu(gd.data(), ud.data(), n, want.data());
    } else {
      ref::geglu(gd.data(), ud.data(), n, want.data());
    }
    EXPECT_LT(nmse(got.data(), want.data(), n), tolerance::kFp32Nmse);
  }
  // y += x; y += bias per row of 10; y = 3 tanh(y / 3).
  const auto& bias = b->vector(random_floats(10, 33));
  float* dy = b->put(100, g);
  b->be->add(dy, b->put(101, u), n);
  b->be->add_bias(dy, bias, n / 10, 10);
  b->be->softcap(dy, n, 3.0f);
  const auto got = b->get(dy, n);
  for (int64_t i = 0; i < n; ++i) {
    want[i] = 3.0 * std::tanh((gd[i] + ud[i] + bias[i % 10]) / 3.0);
  }
  EXPECT_LT(nmse(got.data(), want.data(), n), tolerance::kFp32Nmse);
}

// The index of the largest value: NaNs skipped, ties to the lowest index,
// -1 when every value is NaN.
TEST_P(BackendOps, ArgmaxMatchesHost) {
  auto b = box();
  for (int64_t n : {1, 7, 1000, 32000, 100003}) {
    auto x = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n), 5.0f);
    for (int64_t i = 3; i < n; i += 17) x[static_cast<size_t>(i)] = std::nanf("");
    if (n > 100) {  // a tie for the top: the lower index wins
      const auto top = *std::max_element(x.begin(), x.end(), [](float a, float c) {
        return std::isnan(a) || (!std::isnan(c) && a < c);
      });
      x[static_cast<size_t>(n / 2)] = top + 1.0f;
      x[static_cast<size_t>(n / 3)] = top + 1.0f;
    }
    int32_t want = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isnan(x[static_cast<size_t>(i)]) &&
          (want < 0 || x[static_cast<size_t>(i)] > x[static_cast<size_t>(want)])) {
        want = static_cast<int32_t>(i);
      }
    }
    int32_t got = -2;
    b->be->argmax(b->put(100, x), n, &got);
    EXPECT_EQ(got, want) << "n=" << n;
  }
  const std::vector<float> nans(64, std::nanf(""));
  int32_t got = -2;
  b->be->argmax(b->put(100, nans), 64, &got);
  EXPECT_EQ(got, -1);
}

TEST_P(BackendOps, EmbeddingRowsMatchReference) {
  auto b = box();
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0,
                        GgmlType::Q4_0, GgmlType::Q6_K}) {
    const TestWeight& table = b->weight(type, 256, 10, 41);
    const int32_t tokens[] = {3, 0, 9, 3};
    float* out = b->be->buffer(100, 4 * 256);
    b->be->embedding(table.w, tokens, 4, 0.5f, out);
    const auto got = b->get(out, 4 * 256);
    for (int t = 0; t < 4; ++t) {
      auto row = ref::embedding_row(table.w, tokens[t]);
      for (double& r : row) r *= 0.5;
      EXPECT_LT(test::max_abs_diff(got.data() + t * 256, row.data(), 256), 1e-6)
          << ggml_type_name(type);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, BackendOps, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const auto& info) { return std::string(device_name(info.param)); });

}  // namespace
}  // namespace ma
