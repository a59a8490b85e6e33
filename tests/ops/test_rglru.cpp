// The RG-LRU op: its fp64 reference against the closed form of the
// recurrence for a constant input, and the fast float32 op against the
// reference in any chunking (outputs and final state), across a sequence
// restart at position 0 and where a is close to 1.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/rglru.h"
#include "op_test_util.h"
#include "ops/reference_rglru.h"
#include "ops/reference_ssm.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::max_abs_diff;
using test::random_floats;
using test::to_double;

// Random RG-LRU parameters; softplus(Lambda) is log-uniform in [sp_lo, sp_hi].
struct RandomLru {
  int64_t width, n_head;
  std::vector<float> gate_x, gate_x_bias, gate_a, gate_a_bias, a_param;

  RandomLru(int64_t w, int64_t h, uint32_t seed, double sp_lo = 0.01, double sp_hi = 0.5)
      : width(w), n_head(h) {
    const int64_t b = w / h;
    const float gate_std = 1.0f / std::sqrt(static_cast<float>(b));
    gate_x = random_floats(static_cast<size_t>(h * b * b), seed, gate_std);
    gate_a = random_floats(static_cast<size_t>(h * b * b), seed + 1, gate_std);
    gate_x_bias = random_floats(static_cast<size_t>(w), seed + 2, 0.5f);
    gate_a_bias = random_floats(static_cast<size_t>(w), seed + 3, 0.5f);
    const auto u = random_floats(static_cast<size_t>(w), seed + 4);
    for (int64_t c = 0; c < w; ++c) {
      // A smooth map of a normal sample onto [lo, hi] in log space.
      const double frac = 0.5 + 0.5 * std::tanh(static_cast<double>(u[static_cast<size_t>(c)]));
      const double sp = std::exp(std::log(sp_lo) + frac * (std::log(sp_hi) - std::log(sp_lo)));
      a_param.push_back(static_cast<float>(std::log(std::expm1(sp))));  // inverse softplus
    }
  }
  ref::RgLruParams params() const {
    return {
        width,         n_head, gate_x.data(), gate_x_bias.data(), gate_a.data(), gate_a_bias.data(),
        a_param.data()};
  }
};

double sigmoid(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

TEST(RgLruReference, MatchesClosedFormForConstantInput) {
  // With the same input at every step the gates are constant, and from h_0 = i x
  //   h_t = a^t i x + sqrt(1 - a^2) i x (1 - a^t) / (1 - a).
  const RandomLru lru(6, 2, 11);
  const int64_t T = 9, w = lru.width, b = w / lru.n_head;
  const auto x1 = to_double(random_floats(static_cast<size_t>(w), 12));
  std::vector<double> x, y(static_cast<size_t>(T * w)), state(static_cast<size_t>(w), 7.0);
  std::vector<int64_t> pos;
  for (int64_t t = 0; t < T; ++t) {
    x.insert(x.end(), x1.begin(), x1.end());
    pos.push_back(t);
  }
  ref::rglru(x.data(), pos.data(), T, lru.params(), state.data(), y.data());
  for (int64_t c = 0; c < w; ++c) {
    double gx = lru.gate_x_bias[static_cast<size_t>(c)];
    double ga = lru.gate_a_bias[static_cast<size_t>(c)];
    for (int64_t i = 0; i < b; ++i) {
      const double xi = x1[static_cast<size_t>(c / b * b + i)];
      gx += lru.gate_x[static_cast<size_t>(c * b + i)] * xi;
      ga += lru.gate_a[static_cast<size_t>(c * b + i)] * xi;
    }
    const double in = sigmoid(gx) * x1[static_cast<size_t>(c)];
    const double a =
        std::exp(-8.0 * sigmoid(ga) * ref::softplus(lru.a_param[static_cast<size_t>(c)]));
    for (int64_t t = 0; t < T; ++t) {
      const double at = std::pow(a, static_cast<double>(t));
      const double want = at * in + std::sqrt(1.0 - a * a) * in * (1.0 - at) / (1.0 - a);
      EXPECT_NEAR(y[static_cast<size_t>(t * w + c)], want, 1e-12) << "t " << t << " c " << c;
    }
    EXPECT_NEAR(state[static_cast<size_t>(c)], y[static_cast<size_t>((T - 1) * w + c)], 0.0);
  }
}

// (width, heads, chunks)
class RgLruOp
    : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, std::vector<int64_t>>> {};

TEST_P(RgLruOp, FastMatchesReferenceOutputsAndState) {
  const auto& [w, h, chunks] = GetParam();
  const RandomLru lru(w, h, 21);
  int64_t T = 0;
  for (int64_t n : chunks) T += n;
  const auto x = random_floats(static_cast<size_t>(T * w), 22);
  // A used state and a sequence that starts at position 3, then restarts at 0
  // mid-way: the old state must be dropped there.
  const auto state0 = random_floats(static_cast<size_t>(w), 23);
  std::vector<int64_t> pos;
  for (int64_t t = 0; t < T; ++t) pos.push_back(t < T / 2 ? 3 + t : t - T / 2);

  std::vector<double> ref_state = to_double(state0), ref_y(static_cast<size_t>(T * w));
  const auto xd = to_double(x);
  ref::rglru(xd.data(), pos.data(), T, lru.params(), ref_state.data(), ref_y.data());

  ThreadPool pool(3);
  std::vector<float> state = state0, y(static_cast<size_t>(T * w)), gates;
  int64_t t = 0;
  for (int64_t n : chunks) {
    gates.assign(static_cast<size_t>(2 * n * w), 0.0f);
    cpu::rglru(pool, x.data() + t * w, pos.data() + t, n, lru.params(), gates.data(), state.data(),
               y.data() + t * w);
    t += n;
  }
  EXPECT_LT(max_abs_diff(y.data(), ref_y.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(max_abs_diff(state.data(), ref_state.data(), state.size()), tolerance::kScanMaxAbs);
  double y_max = 0;
  for (double v : ref_y) y_max = std::max(y_max, std::abs(v));
  EXPECT_GT(y_max, 0.2);  // not a vacuous pass
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RgLruOp,
    ::testing::Values(std::make_tuple(int64_t{60}, int64_t{3}, std::vector<int64_t>{14}),
                      std::make_tuple(int64_t{60}, int64_t{3}, std::vector<int64_t>(14, 1)),
                      std::make_tuple(int64_t{160}, int64_t{4}, std::vector<int64_t>{5, 1, 11}),
                      std::make_tuple(int64_t{64}, int64_t{1}, std::vector<int64_t>{9, 8})));

TEST(RgLruOp, MultiplierStaysAccurateWhenADecaysSlowly) {
  // softplus(Lambda) ~ 1e-6: a = 1 - O(1e-5), where 1 - a^2 computed naively in
  // float32 loses most of its digits; the input scale sqrt(1 - a^2) must not.
  const RandomLru lru(32, 2, 31, 1e-6, 2e-6);
  const int64_t T = 6, w = lru.width;
  const auto x = random_floats(static_cast<size_t>(T * w), 32);
  std::vector<int64_t> pos = {4, 5, 6, 7, 8, 9};
  std::vector<double> ref_state(static_cast<size_t>(w), 0.0), ref_y(static_cast<size_t>(T * w));
  const auto xd = to_double(x);
  ref::rglru(xd.data(), pos.data(), T, lru.params(), ref_state.data(), ref_y.data());
  ThreadPool pool(2);
  std::vector<float> state(static_cast<size_t>(w), 0.0f), y(static_cast<size_t>(T * w)),
      gates(static_cast<size_t>(2 * T * w));
  cpu::rglru(pool, x.data(), pos.data(), T, lru.params(), gates.data(), state.data(), y.data());
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_NEAR(y[i], ref_y[i], 1e-4 * std::abs(ref_y[i]) + 1e-9) << i;
  }
}

}  // namespace
}  // namespace ma
