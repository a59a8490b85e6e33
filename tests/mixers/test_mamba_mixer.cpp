// The Mamba mixer against an fp64 sequential reference built from the
// reference ops: prefill of all tokens, token-by-token decode and uneven
// chunks must give the same outputs and the same final state (conv tail and
// SSM state), within the scan tolerance.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/op_test_util.h"
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "mixers/mamba.h"
#include "ops/reference_ops.h"
#include "ops/reference_ssm.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;

// Scales keep every activation near unit size, so an absolute tolerance means
// what it says.
struct RandomMamba {
  MambaShape s{32, 64, 8, 4, 3};  // n_embd, d_inner, d_state, d_conv, dt_rank
  test::F32Weight in{s.n_embd, 2 * s.d_inner, 101, 0.18f};
  test::F32Weight x_proj{s.d_inner, s.dt_rank + 2 * s.d_state, 102, 0.15f};
  test::F32Weight dt_proj{s.dt_rank, s.d_inner, 103, 0.4f};
  test::F32Weight out{s.d_inner, s.n_embd, 104, 0.15f};
  MambaWeights w;

  RandomMamba() {
    w.in = in.w;
    w.x_proj = x_proj.w;
    w.dt_proj = dt_proj.w;
    w.out = out.w;
    w.conv = random_floats(static_cast<size_t>(s.d_inner * s.d_conv), 105, 0.5f);
    w.conv_bias = random_floats(static_cast<size_t>(s.d_inner), 106, 0.1f);
    w.dt_bias = random_floats(static_cast<size_t>(s.d_inner), 107, 0.5f);
    w.a = random_floats(static_cast<size_t>(s.d_inner * s.d_state), 108, 0.5f);
    for (auto& v : w.a) v = -std::exp(v);
    w.d = random_floats(static_cast<size_t>(s.d_inner), 109);
  }
};

// fp64 Mamba mixer: the recurrence as written, one token after another.
// state: conv tail [(K-1) x d_inner] then h [d_inner x N], like the mixer's slot.
void reference_mamba(const MambaWeights& w, const MambaShape& s, const std::vector<float>& x,
                     int64_t n, std::vector<double>& state, std::vector<double>& out) {
  const int64_t di = s.d_inner, ns = s.d_state, r = s.dt_rank, dbc_w = r + 2 * ns;
  double* tail = state.data();
  double* h = state.data() + (s.d_conv - 1) * di;
  out.assign(static_cast<size_t>(n * s.n_embd), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> xt(x.begin() + t * s.n_embd, x.begin() + (t + 1) * s.n_embd);
    std::vector<double> xz(static_cast<size_t>(2 * di)), xc(static_cast<size_t>(di));
    ref::matmul(w.in, xt.data(), 1, xz.data());
    ref::causal_conv1d(xz.data(), 2 * di, 1, di, w.conv.data(), s.d_conv, w.conv_bias.data(), tail,
                       xc.data());
    for (auto& v : xc) v = ref::silu(v);
    std::vector<double> dbc(static_cast<size_t>(dbc_w)), dt(static_cast<size_t>(di));
    ref::matmul(w.x_proj, xc.data(), 1, dbc.data());
    if (s.dt_b_c_rms) {  // Falcon-Mamba: dt, B, C each normalised; Jamba: with weights
      const std::vector<float>* norms[3] = {&w.dt_norm, &w.b_norm, &w.c_norm};
      int part = 0;
      for (auto [first, len] : {std::pair{int64_t{0}, r}, {r, ns}, {r + ns, ns}}) {
        const std::vector<float>& weight = *norms[part++];
        double ss = 0;
        for (int64_t i = first; i < first + len; ++i) ss += dbc[i] * dbc[i];
        const double scale = 1.0 / std::sqrt(ss / static_cast<double>(len) + s.norm_eps);
        for (int64_t i = first; i < first + len; ++i) {
          dbc[i] *= scale * (weight.empty() ? 1.0 : weight[static_cast<size_t>(i - first)]);
        }
      }
    }
    ref::matmul(w.dt_proj, dbc.data(), 1, dt.data());
    for (int64_t d = 0; d < di; ++d) dt[d] = ref::softplus(dt[d] + w.dt_bias[d]);
    std::vector<double> y(static_cast<size_t>(di));
    ref::selective_scan(xc.data(), dt.data(), w.a.data(), dbc.data() + r, dbc.data() + r + ns,
                        dbc_w, w.d.data(), 1, di, ns, h, y.data());
    for (int64_t d = 0; d < di; ++d) y[d] *= ref::silu(xz[di + d]);
    ref::matmul(w.out, y.data(), 1, out.data() + t * s.n_embd);
  }
}

enum class DbcNorm { kNone, kWeightless, kWeighted };  // Mamba, Falcon-Mamba, Jamba

// (dt/B/C norms, chunk sizes)
class MambaMixerTest : public ::testing::TestWithParam<std::tuple<DbcNorm, std::vector<int64_t>>> {
};

TEST_P(MambaMixerTest, MatchesFp64ReferenceOutputsAndState) {
  RandomMamba m;
  const DbcNorm norm = std::get<0>(GetParam());
  m.s.dt_b_c_rms = norm != DbcNorm::kNone;
  if (norm == DbcNorm::kWeighted) {
    m.w.dt_norm = random_floats(static_cast<size_t>(m.s.dt_rank), 111, 0.5f);
    m.w.b_norm = random_floats(static_cast<size_t>(m.s.d_state), 112, 0.5f);
    m.w.c_norm = random_floats(static_cast<size_t>(m.s.d_state), 113, 0.5f);
    for (auto* v : {&m.w.dt_norm, &m.w.b_norm, &m.w.c_norm}) {
      for (float& x : *v) x += 1.0f;
    }
  }
  const MambaMixer mixer(m.w, m.s);
  const int64_t T = 17;
  const auto x = random_floats(static_cast<size_t>(T * m.s.n_embd), 110);

  std::vector<double> ref_state(static_cast<size_t>(mixer.state_floats()), 0.0), ref_out;
  reference_mamba(m.w, m.s, x, T, ref_state, ref_out);

  ThreadPool pool(3);
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  SequenceState state;
  state.recurrent = RecurrentState({mixer.state_spec().fixed_bytes});
  std::vector<float> out(static_cast<size_t>(T * m.s.n_embd));
  std::vector<int64_t> pos(static_cast<size_t>(T));
  int64_t t = 0;
  for (int64_t n : std::get<1>(GetParam())) {
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = t + i;
    cpu::CpuBackend be(pool, ws, mm, att);
    ForwardContext ctx{pool, ws, mm, att, be, pos.data(), n, state};
    mixer.forward(ctx, x.data() + t * m.s.n_embd, out.data() + t * m.s.n_embd, 0);
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
  // Guard against a vacuous pass: the reference output and state are not small.
  double out_max = 0, state_max = 0;
  for (double v : ref_out) out_max = std::max(out_max, std::abs(v));
  for (double v : ref_state) state_max = std::max(state_max, std::abs(v));
  EXPECT_GT(out_max, 0.1);
  EXPECT_LT(out_max, 20.0);
  EXPECT_GT(state_max, 0.1);
}

INSTANTIATE_TEST_SUITE_P(MambaChunks, MambaMixerTest,
                         ::testing::Combine(::testing::Values(DbcNorm::kNone, DbcNorm::kWeightless,
                                                              DbcNorm::kWeighted),
                                            ::testing::Values(std::vector<int64_t>{17},  // prefill
                                                              std::vector<int64_t>(17, 1),
                                                              std::vector<int64_t>{5, 1, 11})));

TEST(MambaMixer, RefusesBadShapes) {
  RandomMamba m;
  MambaShape s = m.s;
  s.d_conv = 0;
  EXPECT_THROW(MambaMixer bad(m.w, s), Error);
  MambaWeights short_norm = m.w;
  short_norm.b_norm.assign(static_cast<size_t>(m.s.d_state - 1), 1.0f);
  EXPECT_THROW(MambaMixer bad(short_norm, m.s), Error);
}

}  // namespace
}  // namespace ma
