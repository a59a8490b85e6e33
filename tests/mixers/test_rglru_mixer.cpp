// Griffin's recurrent block (the RG-LRU mixer) against an fp64 sequential
// reference built from the reference ops: prefill of all tokens, token-by-token
// decode and uneven chunks must give the same outputs and the same final
// state (conv tail and RG-LRU state), within the scan tolerance.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/op_test_util.h"
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "mixers/rglru.h"
#include "ops/reference_ops.h"
#include "ops/reference_rglru.h"
#include "ops/reference_ssm.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;

// Scales keep activations near unit size, so an absolute tolerance means what it says.
struct RandomRgLru {
  RgLruShape s{32, 48, 3, 4};  // n_embd, width, heads (blocks of 16), d_conv
  test::F32Weight x_proj{s.n_embd, s.width, 201, 0.2f};
  test::F32Weight y_proj{s.n_embd, s.width, 202, 0.2f};
  test::F32Weight out{s.width, s.n_embd, 203, 0.2f};
  RgLruWeights w;

  RandomRgLru() {
    const int64_t b = s.width / s.n_head;
    const auto n = [](int64_t v) { return static_cast<size_t>(v); };
    w.x_proj = x_proj.w;
    w.y_proj = y_proj.w;
    w.out = out.w;
    w.x_bias = random_floats(n(s.width), 204, 0.1f);
    w.y_bias = random_floats(n(s.width), 205, 0.1f);
    w.out_bias = random_floats(n(s.n_embd), 206, 0.1f);
    w.conv = random_floats(n(s.width * s.d_conv), 207, 0.5f);
    w.conv_bias = random_floats(n(s.width), 208, 0.1f);
    w.gate_x = random_floats(n(s.n_head * b * b), 209, 0.25f);
    w.gate_x_bias = random_floats(n(s.width), 210, 0.5f);
    w.gate_a = random_floats(n(s.n_head * b * b), 211, 0.25f);
    w.gate_a_bias = random_floats(n(s.width), 212, 0.5f);
    w.a_param = random_floats(n(s.width), 213, 1.5f);  // softplus(Lambda) from ~0.05 to ~3
    for (float& v : w.a_param) v -= 1.5f;
  }
};

// fp64 block, one token after another. state: conv tail [(K-1) x W] then h
// [W], like the mixer's slot.
void reference_block(const RgLruMixer& mixer, const RgLruWeights& w, const RgLruShape& s,
                     const std::vector<float>& x, const std::vector<int64_t>& pos,
                     std::vector<double>& state, std::vector<double>& out) {
  const int64_t wd = s.width, e = s.n_embd;
  double* tail = state.data();
  double* h = state.data() + (s.d_conv - 1) * wd;
  out.assign(x.size(), 0.0);
  std::vector<double> xb(static_cast<size_t>(wd)), yb(xb), xc(xb), lru(xb), gated(xb);
  for (size_t t = 0; t < pos.size(); ++t) {
    const std::vector<double> xt(x.begin() + static_cast<long>(t) * e,
                                 x.begin() + static_cast<long>(t + 1) * e);
    ref::matmul(w.x_proj, xt.data(), 1, xb.data());
    ref::matmul(w.y_proj, xt.data(), 1, yb.data());
    for (int64_t c = 0; c < wd; ++c) {
      xb[static_cast<size_t>(c)] += w.x_bias[static_cast<size_t>(c)];
      yb[static_cast<size_t>(c)] += w.y_bias[static_cast<size_t>(c)];
    }
    ref::causal_conv1d(xb.data(), wd, 1, wd, w.conv.data(), s.d_conv, w.conv_bias.data(), tail,
                       xc.data());
    ref::rglru(xc.data(), &pos[t], 1, mixer.lru_params(), h, lru.data());
    ref::geglu(yb.data(), lru.data(), wd, gated.data());
    double* o = out.data() + t * static_cast<size_t>(e);
    ref::matmul(w.out, gated.data(), 1, o);
    for (int64_t i = 0; i < e; ++i) o[i] += w.out_bias[static_cast<size_t>(i)];
  }
}

class RgLruMixerTest : public ::testing::TestWithParam<std::vector<int64_t>> {};

TEST_P(RgLruMixerTest, MatchesFp64ReferenceOutputsAndState) {
  const RandomRgLru m;
  const RgLruMixer mixer(m.w, m.s);
  const int64_t T = 17, e = m.s.n_embd;
  const auto x = random_floats(static_cast<size_t>(T * e), 214);
  std::vector<int64_t> pos(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = t;

  std::vector<double> ref_state(static_cast<size_t>(mixer.state_floats()), 0.0), ref_out;
  reference_block(mixer, m.w, m.s, x, pos, ref_state, ref_out);

  ThreadPool pool(3);
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  SequenceState state;
  state.recurrent = RecurrentState({mixer.state_spec().fixed_bytes});
  std::vector<float> out(static_cast<size_t>(T * e));
  int64_t t = 0;
  for (int64_t n : GetParam()) {
    cpu::CpuBackend be(pool, ws, mm, att);
    ForwardContext ctx{pool, ws, mm, att, be, pos.data() + t, n, state};
    mixer.forward(ctx, x.data() + t * e, out.data() + t * e, 0);
    t += n;
  }
  ASSERT_EQ(t, T);
  const double out_err = test::max_abs_diff(out.data(), ref_out.data(), out.size());
  const double state_err =
      test::max_abs_diff(state.recurrent.slot(0), ref_state.data(), ref_state.size());
  RecordProperty("max_abs_out_err", std::to_string(out_err));
  RecordProperty("max_abs_state_err", std::to_string(state_err));
  EXPECT_LT(out_err, tolerance::kScanMaxAbs);
  EXPECT_LT(state_err, tolerance::kScanMaxAbs);
  // Guard against a vacuous pass: the reference output and the LRU state are not small.
  double out_max = 0, h_max = 0;
  for (double v : ref_out) out_max = std::max(out_max, std::abs(v));
  for (int64_t c = 0; c < m.s.width; ++c) {
    h_max =
        std::max(h_max, std::abs(ref_state[static_cast<size_t>(mixer.conv_state_floats() + c)]));
  }
  EXPECT_GT(out_max, 0.1);
  EXPECT_LT(out_max, 20.0);
  EXPECT_GT(h_max, 0.1);
}

INSTANTIATE_TEST_SUITE_P(Chunks, RgLruMixerTest,
                         ::testing::Values(std::vector<int64_t>{17},  // prefill
                                           std::vector<int64_t>(17, 1),
                                           std::vector<int64_t>{5, 1, 11}));

TEST(RgLruMixer, RefusesBadShapes) {
  const RandomRgLru m;
  RgLruShape s = m.s;
  s.n_head = 5;  // 48 channels do not split into 5 blocks
  EXPECT_THROW(RgLruMixer bad(m.w, s), Error);
  RgLruWeights short_gate = m.w;
  short_gate.gate_a.pop_back();
  EXPECT_THROW(RgLruMixer bad(short_gate, m.s), Error);
  s = m.s;
  s.d_conv = 0;
  EXPECT_THROW(RgLruMixer bad(m.w, s), Error);
}

}  // namespace
}  // namespace ma
