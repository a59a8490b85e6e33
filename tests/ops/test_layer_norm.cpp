// LayerNorm (RWKV's norms and its per-head group norm) against the fp64
// reference: with and without a bias, in place, on inputs far from zero mean
// (where a one-pass variance would cancel badly).
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/ops.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;

TEST(OpsLayerNorm, MatchesReferenceOverShapes) {
  uint32_t seed = 40;
  for (int64_t dim : {int64_t{8}, int64_t{64}, int64_t{300}}) {
    for (int64_t n : {int64_t{1}, int64_t{5}}) {
      for (float offset : {0.0f, 30.0f}) {
        auto x = random_floats(static_cast<size_t>(n * dim), seed++);
        for (float& v : x) v += offset;
        const auto weight = random_floats(static_cast<size_t>(dim), seed++);
        const auto bias = random_floats(static_cast<size_t>(dim), seed++);
        for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
          std::vector<float> y(x.size());
          cpu::layer_norm(x.data(), weight.data(), b, n, dim, 1e-5f, y.data());
          const auto xd = test::to_double(x);
          std::vector<double> yr(x.size());
          ref::layer_norm(xd.data(), weight.data(), b, n, dim, 1e-5, yr.data());
          EXPECT_LT(test::nmse(y.data(), yr.data(), y.size()), tolerance::kFp32Nmse)
              << "dim " << dim << " tokens " << n << " offset " << offset << " bias " << !!b;
        }
      }
    }
  }
}

TEST(OpsLayerNorm, InPlaceEqualsOutOfPlaceAndNormalises) {
  const int64_t n = 3, dim = 64;
  auto x = random_floats(static_cast<size_t>(n * dim), 50, 4.0f);
  const std::vector<float> ones(static_cast<size_t>(dim), 1.0f);
  std::vector<float> y(x.size());
  cpu::layer_norm(x.data(), ones.data(), nullptr, n, dim, 1e-5f, y.data());
  cpu::layer_norm(x.data(), ones.data(), nullptr, n, dim, 1e-5f, x.data());
  EXPECT_EQ(x, y);
  for (int64_t t = 0; t < n; ++t) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i) mean += y[t * dim + i];
    mean /= dim;
    for (int64_t i = 0; i < dim; ++i) var += (y[t * dim + i] - mean) * (y[t * dim + i] - mean);
    EXPECT_NEAR(mean, 0.0, 1e-5);
    EXPECT_NEAR(var / dim, 1.0, 1e-4);
  }
}

}  // namespace
}  // namespace ma
