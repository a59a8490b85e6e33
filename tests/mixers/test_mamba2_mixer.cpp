// The Mamba-2 mixer against an fp64 sequential reference built from the
// reference ops, with two groups of B/C: prefill, token-by-token decode and
// uneven chunks give the same outputs and final state within the scan tolerance.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/op_test_util.h"
#include "backend/cpu/cpu_backend.h"
#include "mixers/mamba2.h"
#include "ops/reference_ops.h"
#include "ops/reference_ssm.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;

struct RandomMamba2 {
  Mamba2Shape s{32, 48, 6, 4, 4, 2, 1e-5f};  // n_embd, d_inner, N, K, heads, groups, eps
  test::F32Weight in{s.n_embd, s.in_dim(), 201, 0.18f};
  test::F32Weight out{s.d_inner, s.n_embd, 202, 0.15f};
  Mamba2Weights w;

  RandomMamba2() {
    w.in = in.w;
    w.out = out.w;
    w.conv = random_floats(static_cast<size_t>(s.conv_dim() * s.d_conv), 203, 0.5f);
    w.conv_bias = random_floats(static_cast<size_t>(s.conv_dim()), 204, 0.1f);
    w.dt_bias = random_floats(static_cast<size_t>(s.n_head), 205, 0.5f);
    w.a = random_floats(static_cast<size_t>(s.n_head), 206, 0.5f);
    for (auto& v : w.a) v = -std::exp(v);
    w.d = random_floats(static_cast<size_t>(s.n_head), 207);
    w.norm = random_floats(static_cast<size_t>(s.d_inner), 208, 0.3f);
    for (auto& v : w.norm) v += 1.0f;
  }
};

// fp64 Mamba-2 mixer, one token after another; state like the mixer's slot.
void reference_mamba2(const Mamba2Weights& w, const Mamba2Shape& s, const std::vector<float>& x,
                      int64_t n, std::vector<double>& state, std::vector<double>& out) {
  const int64_t di = s.d_inner, cd = s.conv_dim(), h = s.n_head, gn = s.n_group * s.d_state;
  double* tail = state.data();
  double* ssm = state.data() + (s.d_conv - 1) * cd;
  const ref::SsdShape ssd{h, s.head_dim(), s.d_state, s.n_group};
  out.assign(static_cast<size_t>(n * s.n_embd), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> xt(x.begin() + t * s.n_embd, x.begin() + (t + 1) * s.n_embd);
    std::vector<double> proj(static_cast<size_t>(s.in_dim())), xbc(static_cast<size_t>(cd));
    ref::matmul(w.in, xt.data(), 1, proj.data());
    ref::causal_conv1d(proj.data() + di, s.in_dim(), 1, cd, w.conv.data(), s.d_conv,
                       w.conv_bias.data(), tail, xbc.data());
    for (auto& v : xbc) v = ref::silu(v);
    std::vector<double> dt(static_cast<size_t>(h)), y(static_cast<size_t>(di));
    for (int64_t i = 0; i < h; ++i) dt[i] = ref::softplus(proj[di + cd + i] + w.dt_bias[i]);
    ref::ssd_scan(xbc.data(), cd, dt.data(), w.a.data(), xbc.data() + di, xbc.data() + di + gn, cd,
                  w.d.data(), 1, ssd, ssm, y.data());
    const int64_t group = di / s.n_group;
    for (int64_t i = 0; i < di; ++i) y[i] *= ref::silu(proj[i]);
    for (int64_t g0 = 0; g0 < di; g0 += group) {
      double ss = 0;
      for (int64_t i = g0; i < g0 + group; ++i) ss += y[i] * y[i];
      const double scale = 1.0 / std::sqrt(ss / group + s.norm_eps);
      for (int64_t i = g0; i < g0 + group; ++i) y[i] *= scale * w.norm[i];
    }
    ref::matmul(w.out, y.data(), 1, out.data() + t * s.n_embd);
  }
}

class Mamba2MixerTest : public ::testing::TestWithParam<std::vector<int64_t>> {};

TEST_P(Mamba2MixerTest, MatchesFp64ReferenceOutputsAndState) {
  RandomMamba2 m;
  const Mamba2Mixer mixer(m.w, m.s);
  int64_t T = 0;
  for (int64_t n : GetParam()) T += n;
  const auto x = random_floats(static_cast<size_t>(T * m.s.n_embd), 210);
  std::vector<double> ref_state(static_cast<size_t>(mixer.state_floats()), 0.0), ref_out;
  reference_mamba2(m.w, m.s, x, T, ref_state, ref_out);

  ThreadPool pool(3);
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  SequenceState state;
  state.recurrent = RecurrentState({mixer.state_spec().fixed_bytes});
  std::vector<float> out(static_cast<size_t>(T * m.s.n_embd));
  std::vector<int64_t> pos(static_cast<size_t>(T));
  int64_t t = 0;
  for (int64_t n : GetParam()) {
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = t + i;
    cpu::CpuBackend be(pool, ws, mm, att);
    ForwardContext ctx{pool, ws, mm, att, be, pos.data(), n, state};
    mixer.forward(ctx, x.data() + t * m.s.n_embd, out.data() + t * m.s.n_embd, 0);
    t += n;
  }
  EXPECT_LT(test::max_abs_diff(out.data(), ref_out.data(), out.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(test::max_abs_diff(state.recurrent.slot(0), ref_state.data(), ref_state.size()),
            tolerance::kScanMaxAbs);
  double out_max = 0;
  for (double v : ref_out) out_max = std::max(out_max, std::abs(v));
  EXPECT_GT(out_max, 0.1);
  EXPECT_LT(out_max, 20.0);
}

INSTANTIATE_TEST_SUITE_P(Mamba2Chunks, Mamba2MixerTest,
                         ::testing::Values(std::vector<int64_t>{13}, std::vector<int64_t>(13, 1),
                                           std::vector<int64_t>{6, 7},
                                           // long enough for the chunked SSD path
                                           std::vector<int64_t>{150},
                                           std::vector<int64_t>{90, 1, 59}));

}  // namespace
}  // namespace ma
