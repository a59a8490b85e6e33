// The chunked scans (Mamba-2 SSD in matrix form, Mamba-1 in time chunks)
// against the fp64 sequential references and against token-by-token decode:
// outputs and final states, for token counts that are, are not, and fall
// short of a multiple of the chunk, several state-hand-off windows, random
// initial states and grouped B/C.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>

#include "backend/cpu/ssm.h"
#include "core/error.h"
#include "op_test_util.h"
#include "ops/reference_ssm.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::max_abs_diff;
using test::random_floats;
using test::to_double;

size_t sz(int64_t v) {
  return static_cast<size_t>(v);
}

// The checks both scans share: one chunked call against the fp64
// reference (outputs and final state), token-by-token decode (the recurrent
// step) landing on the same numbers, and a prefill split at `first`
// handing its state on exactly like one call. Problem: T, h0, ref_y,
// ref_h, and run(scan, t, n, h, y) over tokens [t, t + n) of `width`
// outputs each.
template <typename Problem, typename Chunked, typename Sequential>
void check_chunked_scan(const Problem& p, int64_t width, Chunked chunked, Sequential sequential,
                        int64_t first) {
  std::vector<float> h = p.h0, y(sz(p.T * width));
  p.run(chunked, 0, p.T, h, y);
  EXPECT_LT(max_abs_diff(y.data(), p.ref_y.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(max_abs_diff(h.data(), p.ref_h.data(), h.size()), tolerance::kScanMaxAbs);

  std::vector<float> h_dec = p.h0, y_dec(y.size());
  for (int64_t t = 0; t < p.T; ++t) p.run(sequential, t, 1, h_dec, y_dec);
  std::vector<double> y_dec_d(y_dec.begin(), y_dec.end()), h_dec_d(h_dec.begin(), h_dec.end());
  EXPECT_LT(max_abs_diff(y.data(), y_dec_d.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(max_abs_diff(h.data(), h_dec_d.data(), h.size()), tolerance::kScanMaxAbs);

  if (p.T >= 2) {
    std::vector<float> h2 = p.h0, y2(y.size());
    p.run(chunked, 0, first, h2, y2);
    p.run(chunked, first, p.T - first, h2, y2);
    EXPECT_LT(max_abs_diff(y2.data(), p.ref_y.data(), y2.size()), tolerance::kScanMaxAbs);
    EXPECT_LT(max_abs_diff(h2.data(), p.ref_h.data(), h2.size()), tolerance::kScanMaxAbs);
  }
}

// ---------------------------------------------------------------- Mamba-2

// One random SSD problem; x and B/C sit inside wider rows, as in the mixer.
struct SsdProblem {
  ref::SsdShape s;
  int64_t T, width, x_stride, bc_stride, c_off;
  std::vector<float> x, dt, a, bc, skip, h0;
  std::vector<double> ref_y, ref_h;

  // a_log_scale spreads the per-head decays: A = -exp(a_log_scale * normal).
  SsdProblem(ref::SsdShape shape, int64_t n_tokens, uint32_t seed, float a_log_scale = 1.0f)
      : s(shape), T(n_tokens) {
    width = s.n_head * s.head_dim;
    x_stride = width + 5;
    c_off = s.n_group * s.d_state;
    bc_stride = 2 * c_off + 3;
    x = random_floats(sz(T * x_stride), seed);
    dt = random_floats(sz(T * s.n_head), seed + 1);
    for (auto& v : dt) v = cpu::softplus(v - 1.0f);
    a = random_floats(sz(s.n_head), seed + 2, a_log_scale);
    for (auto& v : a) v = -std::exp(v);
    bc = random_floats(sz(T * bc_stride), seed + 3, 0.5f);
    skip = random_floats(sz(s.n_head), seed + 4);
    h0 = random_floats(sz(width * s.d_state), seed + 5);

    const auto xd = to_double(x), dtd = to_double(dt), bcd = to_double(bc);
    ref_h = to_double(h0);
    ref_y.assign(sz(T * width), 0.0);
    ref::ssd_scan(xd.data(), x_stride, dtd.data(), a.data(), bcd.data(), bcd.data() + c_off,
                  bc_stride, skip.data(), T, s, ref_h.data(), ref_y.data());
  }

  // Runs `scan` over tokens [t, t + n) on (h, y), with this problem's inputs.
  template <typename Scan>
  void run(Scan scan, int64_t t, int64_t n, std::vector<float>& h, std::vector<float>& y) const {
    scan(x.data() + t * x_stride, x_stride, dt.data() + t * s.n_head, a.data(),
         bc.data() + t * bc_stride, bc.data() + t * bc_stride + c_off, bc_stride, skip.data(), n, s,
         h.data(), y.data() + t * width);
  }
};

struct SsdCase {
  ref::SsdShape shape;
  int64_t n_tokens;
  cpu::ScanChunking chunking;
  float a_log_scale;
};

std::string ssd_case_name(const ::testing::TestParamInfo<SsdCase>& info) {
  const auto& c = info.param;
  return "H" + std::to_string(c.shape.n_head) + "P" + std::to_string(c.shape.head_dim) + "N" +
         std::to_string(c.shape.d_state) + "G" + std::to_string(c.shape.n_group) + "_T" +
         std::to_string(c.n_tokens) + "_L" + std::to_string(c.chunking.chunk_len) + "W" +
         std::to_string(c.chunking.window_chunks) + "_" + std::to_string(info.index);
}

void PrintTo(const SsdCase& c, std::ostream* os) {
  *os << "H" << c.shape.n_head << " P" << c.shape.head_dim << " N" << c.shape.d_state << " G"
      << c.shape.n_group << " T" << c.n_tokens << " chunk " << c.chunking.chunk_len << " window "
      << c.chunking.window_chunks;
}

class SsdChunkedTest : public ::testing::TestWithParam<SsdCase> {};

TEST_P(SsdChunkedTest, MatchesReferenceAndDecodeOutputsAndState) {
  const SsdCase& tc = GetParam();
  const SsdProblem p(tc.shape, tc.n_tokens, 300 + static_cast<uint32_t>(tc.n_tokens),
                     tc.a_log_scale);
  ThreadPool pool(3);
  const auto chunked = [&](auto&&... args) { cpu::ssd_scan_chunked(pool, args..., tc.chunking); };
  const auto sequential = [&](auto&&... args) { cpu::ssd_scan_sequential(pool, args...); };
  check_chunked_scan(p, p.width, chunked, sequential, p.T / 2 + 1);
}

constexpr ref::SsdShape kRagged{4, 3, 5, 2};     // heads 0-1 share group 0
constexpr ref::SsdShape kOneGroup{2, 16, 8, 1};  // whole register tiles
constexpr ref::SsdShape kFourGroups{8, 8, 16, 4};
constexpr ref::SsdShape kWideHead{3, 20, 12, 1};  // 20 columns: tiles plus a border

INSTANTIATE_TEST_SUITE_P(
    Shapes, SsdChunkedTest,
    ::testing::Values(SsdCase{kRagged, 13, {4, 0}, 1.0f},     // 3 chunks and a ragged one
                      SsdCase{kRagged, 13, {4, 2}, 1.0f},     // two windows
                      SsdCase{kRagged, 9, {16, 0}, 1.0f},     // T < chunk
                      SsdCase{kRagged, 1, {4, 0}, 1.0f},      // one token
                      SsdCase{kOneGroup, 64, {16, 0}, 1.0f},  // a multiple of the chunk
                      SsdCase{kOneGroup, 150, {64, 0}, 1.0f},
                      SsdCase{kOneGroup, 100, {7, 3}, 0.0f},  // A = -1 everywhere
                      SsdCase{kFourGroups, 77, {16, 2}, 1.0f},
                      SsdCase{kFourGroups, 40, {8, 0}, 2.5f},  // decays from e^-12 to ~1
                      SsdCase{kWideHead, 70, {32, 1}, 1.0f}),
    ssd_case_name);

TEST(SsdChunked, SlowDecayCarriesTheStateAcrossManyChunks) {
  // A near zero: the initial state and early tokens still weigh on the last
  // outputs, so a chunk that lost the carried state would be far off.
  SsdProblem p(kOneGroup, 96, 401, 0.0f);
  for (auto& v : p.a) v = -0.002f;
  for (auto& v : p.dt) v *= 0.2f;
  const auto xd = to_double(p.x), dtd = to_double(p.dt), bcd = to_double(p.bc);
  std::vector<double> ref_h = to_double(p.h0), ref_y(sz(p.T * p.width));
  ref::ssd_scan(xd.data(), p.x_stride, dtd.data(), p.a.data(), bcd.data(), bcd.data() + p.c_off,
                p.bc_stride, p.skip.data(), p.T, p.s, ref_h.data(), ref_y.data());
  ThreadPool pool(2);
  std::vector<float> h = p.h0, y(ref_y.size());
  cpu::ssd_scan_chunked(pool, p.x.data(), p.x_stride, p.dt.data(), p.a.data(), p.bc.data(),
                        p.bc.data() + p.c_off, p.bc_stride, p.skip.data(), p.T, p.s, h.data(),
                        y.data(), {8, 3});
  EXPECT_LT(max_abs_diff(y.data(), ref_y.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(max_abs_diff(h.data(), ref_h.data(), h.size()), tolerance::kScanMaxAbs);
  // The initial state's share of the final state is large: e^(-0.002 sum dt) ~ 1.
  double h0_share = 0;
  for (size_t i = 0; i < h.size(); ++i) h0_share = std::max(h0_share, std::abs(double{p.h0[i]}));
  EXPECT_GT(h0_share, 10 * tolerance::kScanMaxAbs);
}

TEST(SsdChunked, AutomaticPathMatchesReferenceForLongPrefill) {
  const SsdProblem p({6, 32, 16, 2}, 200, 501);
  ThreadPool pool(2);
  std::vector<float> h = p.h0, y(sz(p.T * p.width));
  p.run([&](auto&&... args) { cpu::ssd_scan(pool, args...); }, 0, p.T, h, y);
  EXPECT_LT(max_abs_diff(y.data(), p.ref_y.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(max_abs_diff(h.data(), p.ref_h.data(), h.size()), tolerance::kScanMaxAbs);
}

TEST(SsdChunked, RejectsAnEmptyChunk) {
  const SsdProblem p(kRagged, 4, 601);
  ThreadPool pool(1);
  std::vector<float> h = p.h0, y(sz(p.T * p.width));
  try {
    p.run([&](auto&&... args) { cpu::ssd_scan_chunked(pool, args..., {0, 0}); }, 0, p.T, h, y);
    FAIL() << "chunk_len 0 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chunk_len 0"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- Mamba-1

struct SelectiveProblem {
  int64_t T, D, N, bc_stride;
  std::vector<float> x, dt, a, bc, skip, h0;
  std::vector<double> ref_y, ref_h;

  SelectiveProblem(int64_t n_tokens, int64_t d_inner, int64_t d_state, uint32_t seed)
      : T(n_tokens), D(d_inner), N(d_state), bc_stride(2 + 2 * d_state) {
    x = random_floats(sz(T * D), seed);
    dt = random_floats(sz(T * D), seed + 1);
    for (auto& v : dt) v = cpu::softplus(v - 1.0f);
    a = random_floats(sz(D * N), seed + 2);
    for (auto& v : a) v = -std::exp(0.5f * v);
    bc = random_floats(sz(T * bc_stride), seed + 3);
    skip = random_floats(sz(D), seed + 4);
    h0 = random_floats(sz(D * N), seed + 5);
    const auto xd = to_double(x), dtd = to_double(dt), bcd = to_double(bc);
    ref_h = to_double(h0);
    ref_y.assign(sz(T * D), 0.0);
    ref::selective_scan(xd.data(), dtd.data(), a.data(), bcd.data() + 2, bcd.data() + 2 + N,
                        bc_stride, skip.data(), T, D, N, ref_h.data(), ref_y.data());
  }

  template <typename Scan>
  void run(Scan scan, int64_t t, int64_t n, std::vector<float>& h, std::vector<float>& y) const {
    const float* row = bc.data() + t * bc_stride + 2;
    scan(x.data() + t * D, dt.data() + t * D, a.data(), row, row + N, bc_stride, skip.data(), n, D,
         N, h.data(), y.data() + t * D);
  }
};

struct SelectiveCase {
  int64_t n_tokens, d_inner, d_state;
  cpu::ScanChunking chunking;
  int threads;
};

std::string selective_case_name(const ::testing::TestParamInfo<SelectiveCase>& info) {
  const auto& c = info.param;
  return "T" + std::to_string(c.n_tokens) + "_D" + std::to_string(c.d_inner) + "_N" +
         std::to_string(c.d_state) + "_L" + std::to_string(c.chunking.chunk_len) + "W" +
         std::to_string(c.chunking.window_chunks) + "_threads" + std::to_string(c.threads);
}

void PrintTo(const SelectiveCase& c, std::ostream* os) {
  *os << "T" << c.n_tokens << " D" << c.d_inner << " N" << c.d_state << " chunk "
      << c.chunking.chunk_len << " window " << c.chunking.window_chunks << " threads " << c.threads;
}

class SelectiveChunkedTest : public ::testing::TestWithParam<SelectiveCase> {};

TEST_P(SelectiveChunkedTest, MatchesReferenceAndDecodeOutputsAndState) {
  const SelectiveCase& tc = GetParam();
  const SelectiveProblem p(tc.n_tokens, tc.d_inner, tc.d_state,
                           700 + static_cast<uint32_t>(tc.n_tokens + tc.d_inner));
  ThreadPool pool(tc.threads);
  const auto chunked = [&](auto&&... args) {
    cpu::selective_scan_chunked(pool, args..., tc.chunking);
  };
  const auto sequential = [&](auto&&... args) { cpu::selective_scan_sequential(pool, args...); };
  check_chunked_scan(p, p.D, chunked, sequential, p.T / 3 + 1);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SelectiveChunkedTest,
    ::testing::Values(SelectiveCase{13, 20, 8, {4, 0}, 3},    // ragged last chunk
                      SelectiveCase{13, 20, 8, {4, 2}, 3},    // two windows
                      SelectiveCase{9, 5, 4, {16, 0}, 2},     // T < chunk
                      SelectiveCase{1, 5, 4, {4, 0}, 2},      // one token
                      SelectiveCase{64, 1, 16, {8, 0}, 4},    // one channel, many threads
                      SelectiveCase{100, 37, 16, {7, 3}, 3},  // 3 channel blocks, 5 windows
                      SelectiveCase{256, 2, 16, {128, 0}, 2}),
    selective_case_name);

TEST(SelectiveChunked, AutomaticPathMatchesReferenceWhenChannelsAreFew) {
  // One channel and four threads: the time-chunked path is the one chosen.
  const SelectiveProblem p(300, 1, 16, 801);
  ThreadPool pool(4);
  std::vector<float> h = p.h0, y(sz(p.T * p.D));
  p.run([&](auto&&... args) { cpu::selective_scan(pool, args...); }, 0, p.T, h, y);
  EXPECT_LT(max_abs_diff(y.data(), p.ref_y.data(), y.size()), tolerance::kScanMaxAbs);
  EXPECT_LT(max_abs_diff(h.data(), p.ref_h.data(), h.size()), tolerance::kScanMaxAbs);
}

TEST(SelectiveChunked, RejectsAnEmptyChunk) {
  const SelectiveProblem p(4, 3, 2, 901);
  ThreadPool pool(1);
  std::vector<float> h = p.h0, y(sz(p.T * p.D));
  EXPECT_THROW(p.run(
                   [&](auto&&... args) {
                     cpu::selective_scan_chunked(pool, args..., {0, 0});
                   },
                   0, p.T, h, y),
               Error);
}

}  // namespace
}  // namespace ma
