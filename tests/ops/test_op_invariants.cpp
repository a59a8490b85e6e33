// Invariants that need no reference: RoPE at position 0 is the identity, and
// every op stays finite on inputs of large and tiny magnitude.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "op_test_util.h"

namespace ma {
namespace {

using test::random_floats;

TEST(OpsInvariants, RopeAtPositionZeroIsIdentity) {
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    RopeParams p;
    p.mode = mode;
    p.n_dims = 32;
    const auto x = random_floats(2 * 32, 3);
    auto y = x;
    const int64_t pos[] = {0};
    cpu::rope(y.data(), 1, 2, 32, pos, p);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(y[i], x[i]);
  }
}

TEST(OpsInvariants, FiniteOnLargeAndTinyMagnitudes) {
  ThreadPool pool(2);
  cpu::MatmulScratch scratch;
  for (float scale : {1e-30f, 1e-6f, 1e4f}) {
    const auto x = random_floats(4 * 256, 5, scale);
    const auto w = random_floats(256, 6);
    std::vector<float> y(x.size());
    cpu::rms_norm(x.data(), w.data(), 4, 256, 1e-5f, y.data());
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << "rms_norm at scale " << scale;
    cpu::swiglu(x.data(), x.data(), static_cast<int64_t>(x.size()), y.data());
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << "swiglu at scale " << scale;
    cpu::geglu(x.data(), x.data(), static_cast<int64_t>(x.size()), y.data());
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << "geglu at scale " << scale;
    for (GgmlType type : {GgmlType::F32, GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K}) {
      const test::TestWeight tw(type, 256, 8, 7);
      std::vector<float> out(4 * 8);
      cpu::matmul(pool, tw.w, x.data(), 4, out.data(), scratch);
      for (float v : out) ASSERT_TRUE(std::isfinite(v)) << ggml_type_name(type) << " " << scale;
    }
    RopeParams p;
    p.n_dims = 64;
    auto r = random_floats(4 * 64, 8, scale);
    const int64_t pos[] = {1, 100, 10000, 1000000};
    cpu::rope(r.data(), 4, 1, 64, pos, p);
    for (float v : r) ASSERT_TRUE(std::isfinite(v)) << "rope at scale " << scale;
  }
}

}  // namespace
}  // namespace ma
