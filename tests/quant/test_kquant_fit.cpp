// round_clamped (quant/kquant_fit.h) against std::nearbyint and std::clamp,
// the definition it replaces in the K-quant encoders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "quant/kquant_fit.h"

namespace ma {
namespace {

int reference(float v, int lo, int hi) {
  return std::clamp(static_cast<int>(std::nearbyint(v)), lo, hi);
}

TEST(RoundClamped, TiesGoToEven) {
  const struct {
    float v;
    int want;
  } cases[] = {{0.5f, 0},   {1.5f, 2},   {2.5f, 2},   {-0.5f, 0},      {-1.5f, -2},
               {-2.5f, -2}, {14.5f, 14}, {15.5f, 15}, {0.49999997f, 0}};
  for (const auto& c : cases) {
    EXPECT_EQ(round_clamped(c.v, -32, 15), c.want) << c.v;
    EXPECT_EQ(round_clamped(c.v, -32, 15), reference(c.v, -32, 15)) << c.v;
  }
}

TEST(RoundClamped, ClampsOutOfRangeValues) {
  EXPECT_EQ(round_clamped(63.6f, 0, 63), 63);
  EXPECT_EQ(round_clamped(-0.6f, 0, 63), 0);
  EXPECT_EQ(round_clamped(1e30f, -128, 127), 127);
  EXPECT_EQ(round_clamped(-1e30f, -128, 127), -128);
  EXPECT_EQ(round_clamped(INFINITY, 0, 15), 15);
}

// The encoders' range: values within a few steps of the levels, every
// bound pair they use.
TEST(RoundClamped, MatchesNearbyintOverTheEncodersRange) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-300.0f, 300.0f);
  const int bounds[][2] = {{0, 3}, {0, 15}, {0, 31}, {0, 63}, {-4, 3}, {-32, 31}, {-128, 127}};
  for (const auto& b : bounds) {
    for (int i = 0; i < 100000; ++i) {
      const float v = dist(rng);
      ASSERT_EQ(round_clamped(v, b[0], b[1]), reference(v, b[0], b[1])) << v;
    }
    // Every half-integer in range and just past it.
    for (int k = 2 * b[0] - 4; k <= 2 * b[1] + 4; ++k) {
      const float v = 0.5f * static_cast<float>(k);
      ASSERT_EQ(round_clamped(v, b[0], b[1]), reference(v, b[0], b[1])) << v;
    }
  }
}

}  // namespace
}  // namespace ma
