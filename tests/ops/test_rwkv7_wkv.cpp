// The two fast RWKV-7 wkv kernels (recurrent and chunked) against the fp64
// generalized delta rule, outputs and final state, over head sizes that do
// and do not fill the kernels' vector and value blocks, token counts around
// the chunk length, and a state carried across calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backend/cpu/rwkv7.h"
#include "op_test_util.h"
#include "ops/reference_rwkv7.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;

// Inputs shaped like RWKV-7's: decays in [0.545, 1), a = -kk with kk a unit
// vector per head, b = kk * iclr with iclr in (0, 1), a non-zero state.
struct WkvCase {
  int64_t n_tokens, n_head, head_size;
  std::vector<float> r, w, k, v, a, b, state;

  WkvCase(int64_t t, int64_t h, int64_t n, uint32_t seed) : n_tokens(t), n_head(h), head_size(n) {
    const auto tc = static_cast<size_t>(t * h * n);
    r = random_floats(tc, seed, 0.5f);
    k = random_floats(tc, seed + 1, 0.3f);
    v = random_floats(tc, seed + 2, 1.0f);
    const auto z = random_floats(tc, seed + 3, 2.0f);
    const auto kk = random_floats(tc, seed + 4, 1.0f);
    const auto iclr = random_floats(tc, seed + 5, 2.0f);
    w.resize(tc), a.resize(tc), b.resize(tc);
    for (size_t e = 0; e < tc; ++e) {
      w[e] = static_cast<float>(std::exp(-kRwkv7DecayScale / (1.0 + std::exp(-z[e]))));
    }
    for (size_t row = 0; row < tc; row += static_cast<size_t>(n)) {
      double ss = 0;
      for (int64_t j = 0; j < n; ++j) ss += double{kk[row + j]} * kk[row + j];
      const double inv = 1.0 / std::sqrt(ss);
      for (int64_t j = 0; j < n; ++j) {
        const double unit = kk[row + j] * inv;
        a[row + j] = static_cast<float>(-unit);
        b[row + j] = static_cast<float>(unit / (1.0 + std::exp(-iclr[row + j])));
      }
    }
    state = random_floats(static_cast<size_t>(h * n * n), seed + 6, 0.5f);
  }

  cpu::Rwkv7WkvInputs inputs(int64_t t0) const {
    const int64_t off = t0 * n_head * head_size;
    return {r.data() + off, w.data() + off, k.data() + off,
            v.data() + off, a.data() + off, b.data() + off};
  }
};

enum class Kernel { kRecurrent, kChunked };

void PrintTo(Kernel k, std::ostream* os) {
  *os << (k == Kernel::kChunked ? "chunked" : "recurrent");
}

// Runs the kernel over the tokens in calls of the given sizes.
void run_fast(const WkvCase& c, Kernel kernel, const std::vector<int64_t>& calls,
              std::vector<float>& state, std::vector<float>& y) {
  ThreadPool pool(3);
  state = c.state;
  y.assign(c.r.size(), 0.0f);
  int64_t t0 = 0;
  for (int64_t n : calls) {
    const cpu::Rwkv7WkvShape s{n, c.n_head, c.head_size};
    float* out = y.data() + t0 * c.n_head * c.head_size;
    if (kernel == Kernel::kChunked) {
      cpu::rwkv7_wkv_chunked(pool, c.inputs(t0), s, state.data(), out);
    } else {
      cpu::rwkv7_wkv_recurrent(pool, c.inputs(t0), s, state.data(), out);
    }
    t0 += n;
  }
  ASSERT_EQ(t0, c.n_tokens);
}

void run_reference(const WkvCase& c, std::vector<double>& state, std::vector<double>& y) {
  const auto d = [](const std::vector<float>& v) { return test::to_double(v); };
  state = d(c.state);
  y.assign(c.r.size(), 0.0);
  ref::rwkv7_wkv(d(c.r).data(), d(c.w).data(), d(c.k).data(), d(c.v).data(), d(c.a).data(),
                 d(c.b).data(), c.n_tokens, c.n_head, c.head_size, state.data(), y.data());
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// (heads, head size, kernel, call sizes)
using WkvParam = std::tuple<int64_t, int64_t, Kernel, std::vector<int64_t>>;
class Rwkv7WkvTest : public ::testing::TestWithParam<WkvParam> {};

TEST_P(Rwkv7WkvTest, MatchesFp64OutputsAndFinalState) {
  const auto& [heads, size, kernel, calls] = GetParam();
  int64_t total = 0;
  for (int64_t n : calls) total += n;
  const WkvCase c(total, heads, size, 7);
  std::vector<double> ref_state, ref_y;
  run_reference(c, ref_state, ref_y);
  std::vector<float> state, y;
  run_fast(c, kernel, calls, state, y);

  const double y_err = test::max_abs_diff(y.data(), ref_y.data(), y.size());
  const double state_err = test::max_abs_diff(state.data(), ref_state.data(), state.size());
  RecordProperty("max_abs_y_err", std::to_string(y_err));
  RecordProperty("max_abs_state_err", std::to_string(state_err));
  EXPECT_LT(y_err, tolerance::kScanMaxAbs);
  EXPECT_LT(state_err, tolerance::kScanMaxAbs);
  // Unit-scale outputs and state, so the absolute bound means what it says.
  EXPECT_GT(max_abs(ref_y), 0.5);
  EXPECT_LT(max_abs(ref_y), 50.0);
  EXPECT_GT(max_abs(ref_state), 0.5);
  EXPECT_LT(max_abs(ref_state), 50.0);
}

const std::vector<int64_t> kOneCall50{50};
const std::vector<int64_t> kAroundChunk{15, 1, 16, 17, 1};
const std::vector<int64_t> kDecode(20, 1);

INSTANTIATE_TEST_SUITE_P(Rwkv7Wkv, Rwkv7WkvTest,
                         ::testing::Combine(::testing::Values(int64_t{1}, int64_t{3}),
                                            ::testing::Values(int64_t{64}, int64_t{36}, int64_t{8}),
                                            ::testing::Values(Kernel::kRecurrent, Kernel::kChunked),
                                            ::testing::Values(kOneCall50, kAroundChunk, kDecode)));

// The chunked form divides keys by the cumulative decay of a chunk; at
// RWKV-7's strongest decay over a whole chunk it must stay exact.
TEST(Rwkv7Wkv, ChunkedHoldsAtTheStrongestDecay) {
  WkvCase c(3 * cpu::kRwkv7Chunk, 2, 64, 11);
  std::fill(c.w.begin(), c.w.end(), static_cast<float>(std::exp(-kRwkv7DecayScale)));
  std::vector<double> ref_state, ref_y;
  run_reference(c, ref_state, ref_y);
  std::vector<float> state, y;
  run_fast(c, Kernel::kChunked, {c.n_tokens}, state, y);
  EXPECT_LT(test::max_abs_diff(y.data(), ref_y.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(test::max_abs_diff(state.data(), ref_state.data(), state.size()),
            tolerance::kScanMaxAbs);
  EXPECT_GT(max_abs(ref_y), 0.5);
}

}  // namespace
}  // namespace ma
