// The state-space ops against their fp64 references: causal conv1d and the
// selective scan, run once over all tokens, token by token, and in two
// uneven chunks, comparing outputs and final states.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/ssm.h"
#include "op_test_util.h"
#include "ops/reference_ssm.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::max_abs_diff;
using test::random_floats;
using test::to_double;

// Runs `step(first, count)` over [0, T) in the chunks given.
template <typename Fn>
void in_chunks(int64_t n, std::initializer_list<int64_t> chunks, Fn step) {
  int64_t t = 0;
  for (int64_t c : chunks) {
    step(t, c);
    t += c;
  }
  ASSERT_EQ(t, n);
}

TEST(SsmOps, CausalConv1dMatchesReferenceInAnyChunking) {
  const int64_t T = 11, C = 24, K = 4, stride = 2 * C;  // x is half of an [x z] row
  const auto x = random_floats(static_cast<size_t>(T * stride), 1);
  const auto w = random_floats(static_cast<size_t>(C * K), 2, 0.5f);
  const auto bias = random_floats(static_cast<size_t>(C), 3, 0.1f);
  const auto tail0 = random_floats(static_cast<size_t>((K - 1) * C), 4);

  std::vector<double> ref_tail = to_double(tail0), ref_y(static_cast<size_t>(T * C));
  const auto xd = to_double(x);
  ref::causal_conv1d(xd.data(), stride, T, C, w.data(), K, bias.data(), ref_tail.data(),
                     ref_y.data());
  // The first output, by hand: the current token meets the last weight.
  double first = double{bias[0]} + double{w[K - 1]} * x[0];
  for (int64_t k = 0; k < K - 1; ++k) first += double{w[k]} * tail0[k * C];
  EXPECT_NEAR(ref_y[0], first, 1e-12);

  ThreadPool pool(3);
  for (auto chunks :
       {std::initializer_list<int64_t>{11}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {2, 9}, {7, 4}}) {
    std::vector<float> tail = tail0, y(static_cast<size_t>(T * C));
    in_chunks(T, chunks, [&](int64_t t, int64_t n) {
      cpu::causal_conv1d(pool, x.data() + t * stride, stride, n, C, w.data(), K, bias.data(),
                         tail.data(), y.data() + t * C);
    });
    EXPECT_LT(max_abs_diff(y.data(), ref_y.data(), y.size()), tolerance::kScanMaxAbs);
    EXPECT_LT(max_abs_diff(tail.data(), ref_tail.data(), tail.size()), 1e-7);  // a copy
  }
}

TEST(SsmOps, SelectiveScanMatchesReferenceInAnyChunking) {
  const int64_t T = 13, D = 20, N = 8, bc_stride = 3 + 2 * N;  // B, C sit in a [dt B C] row
  const auto x = random_floats(static_cast<size_t>(T * D), 11);
  auto dt = random_floats(static_cast<size_t>(T * D), 12);
  for (auto& v : dt) v = cpu::softplus(v - 1.0f);
  auto a = random_floats(static_cast<size_t>(D * N), 13);
  for (auto& v : a) v = -std::exp(0.5f * v);
  const auto bc = random_floats(static_cast<size_t>(T * bc_stride), 14);
  const auto skip = random_floats(static_cast<size_t>(D), 15);
  const auto h0 = random_floats(static_cast<size_t>(D * N), 16);

  const auto xd = to_double(x), dtd = to_double(dt), bcd = to_double(bc);
  std::vector<double> ref_h = to_double(h0), ref_y(static_cast<size_t>(T * D));
  ref::selective_scan(xd.data(), dtd.data(), a.data(), bcd.data() + 3, bcd.data() + 3 + N,
                      bc_stride, skip.data(), T, D, N, ref_h.data(), ref_y.data());

  ThreadPool pool(4);
  for (auto chunks : {std::initializer_list<int64_t>{13},
                      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
                      {5, 8},
                      {12, 1}}) {
    std::vector<float> h = h0, y(static_cast<size_t>(T * D));
    in_chunks(T, chunks, [&](int64_t t, int64_t n) {
      cpu::selective_scan(pool, x.data() + t * D, dt.data() + t * D, a.data(),
                          bc.data() + t * bc_stride + 3, bc.data() + t * bc_stride + 3 + N,
                          bc_stride, skip.data(), n, D, N, h.data(), y.data() + t * D);
    });
    EXPECT_LT(max_abs_diff(y.data(), ref_y.data(), y.size()), tolerance::kScanMaxAbs);
    EXPECT_LT(max_abs_diff(h.data(), ref_h.data(), h.size()), tolerance::kScanMaxAbs);
  }
}

TEST(SsmOps, SsdScanMatchesReferenceInAnyChunking) {
  // 4 heads of 3 channels, 5 states, 2 groups: heads 0-1 read group 0's B/C.
  const ref::SsdShape s{4, 3, 5, 2};
  const int64_t T = 9, width = s.n_head * s.head_dim, x_stride = width + 7;
  const int64_t bc_stride = 2 * s.n_group * s.d_state + 1;
  const auto x = random_floats(static_cast<size_t>(T * x_stride), 21);
  auto dt = random_floats(static_cast<size_t>(T * s.n_head), 22);
  for (auto& v : dt) v = cpu::softplus(v - 1.0f);
  auto a = random_floats(static_cast<size_t>(s.n_head), 23);
  for (auto& v : a) v = -std::exp(v);
  const auto bc = random_floats(static_cast<size_t>(T * bc_stride), 24);
  const auto skip = random_floats(static_cast<size_t>(s.n_head), 25);
  const auto h0 = random_floats(static_cast<size_t>(width * s.d_state), 26);
  const int64_t c_off = s.n_group * s.d_state;

  const auto xd = to_double(x), dtd = to_double(dt), bcd = to_double(bc);
  std::vector<double> ref_h = to_double(h0), ref_y(static_cast<size_t>(T * width));
  ref::ssd_scan(xd.data(), x_stride, dtd.data(), a.data(), bcd.data(), bcd.data() + c_off,
                bc_stride, skip.data(), T, s, ref_h.data(), ref_y.data());

  ThreadPool pool(3);
  for (auto chunks : {std::initializer_list<int64_t>{9}, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {4, 5}}) {
    std::vector<float> h = h0, y(static_cast<size_t>(T * width));
    in_chunks(T, chunks, [&](int64_t t, int64_t n) {
      cpu::ssd_scan(pool, x.data() + t * x_stride, x_stride, dt.data() + t * s.n_head, a.data(),
                    bc.data() + t * bc_stride, bc.data() + t * bc_stride + c_off, bc_stride,
                    skip.data(), n, s, h.data(), y.data() + t * width);
    });
    EXPECT_LT(max_abs_diff(y.data(), ref_y.data(), y.size()), tolerance::kScanMaxAbs);
    EXPECT_LT(max_abs_diff(h.data(), ref_h.data(), h.size()), tolerance::kScanMaxAbs);
  }
}

TEST(SsmOps, SelectiveScanOneStepByHand) {
  // D = 1, N = 2: h = e^(dt a) h + dt b x;  y = c.h + skip x.
  const float x = 0.7f, dt = 0.3f, a[2] = {-1.0f, -2.0f}, bc[4] = {0.5f, -1.5f, 2.0f, 0.25f};
  const float skip = 1.25f;
  float h[2] = {0.1f, -0.2f}, y = 0;
  ThreadPool pool(1);
  cpu::selective_scan(pool, &x, &dt, a, bc, bc + 2, 4, &skip, 1, 1, 2, h, &y);
  const double h0 = std::exp(-0.3) * 0.1 + 0.3 * 0.5 * 0.7;
  const double h1 = std::exp(-0.6) * -0.2 + 0.3 * -1.5 * 0.7;
  EXPECT_NEAR(h[0], h0, 1e-6);
  EXPECT_NEAR(h[1], h1, 1e-6);
  EXPECT_NEAR(y, 2.0 * h0 + 0.25 * h1 + 1.25 * 0.7, 1e-6);
}

TEST(SsmOps, SoftplusAndSilu) {
  for (double v : {-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 19.0, 25.0}) {
    EXPECT_NEAR(cpu::softplus(static_cast<float>(v)), ref::softplus(v), 1e-5 * (1 + std::abs(v)));
    EXPECT_NEAR(cpu::silu(static_cast<float>(v)), ref::silu(v), 1e-5 * (1 + std::abs(v)));
  }
  EXPECT_NEAR(ref::softplus(0.0), std::log(2.0), 1e-15);
}

}  // namespace
}  // namespace ma
