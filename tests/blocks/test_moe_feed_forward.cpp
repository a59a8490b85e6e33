// The mixture-of-experts FFN against its fp64 reference: F32 and Q8_0
// experts, top-1 and top-2 routing, with and without renormalisation, all
// tokens at once and one at a time; plus the router's selection by hand.
#include <gtest/gtest.h>

#include "../ops/op_test_util.h"
#include "backend/cpu/cpu_backend.h"
#include "blocks/forward_context.h"
#include "blocks/moe_feed_forward.h"
#include "core/error.h"
#include "ops/reference_moe.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;

constexpr int64_t kEmbd = 64, kFf = 96, kExperts = 4, kTokens = 9;

struct RandomExperts {
  test::TestWeight router;
  std::vector<test::TestWeight> gate, up, down;
  MoeWeights w;

  explicit RandomExperts(GgmlType type) : router(GgmlType::F32, kEmbd, kExperts, 500) {
    for (uint32_t e = 0; e < kExperts; ++e) {
      gate.emplace_back(type, kEmbd, kFf, 510 + e);
      up.emplace_back(type, kEmbd, kFf, 520 + e);
      down.emplace_back(type, kFf, kEmbd, 530 + e);
    }
    w.router = router.w;
    for (size_t e = 0; e < kExperts; ++e) {
      w.gate.push_back(gate[e].w);
      w.up.push_back(up[e].w);
      w.down.push_back(down[e].w);
    }
  }
};

// (expert type, experts per token, renormalise, tokens per call)
class MoeTest : public ::testing::TestWithParam<std::tuple<GgmlType, int64_t, bool, int64_t>> {};

TEST_P(MoeTest, MatchesFp64Reference) {
  const auto [type, n_used, renorm, per_call] = GetParam();
  RandomExperts r(type);
  const MoeFeedForward ffn(r.w, MoeRouting{n_used, renorm});
  const auto x = random_floats(static_cast<size_t>(kTokens * kEmbd), 540, 0.5f);

  std::vector<double> ref(x.size());
  const auto xd = test::to_double(x);
  ref::moe_ffn(r.w.router, r.w.gate, r.w.up, r.w.down, n_used, renorm, xd.data(), kTokens,
               ref.data());

  ThreadPool pool(3);
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  SequenceState state;
  std::vector<float> out(x.size());
  std::vector<int64_t> pos(kTokens);
  for (int64_t t = 0; t < kTokens; t += per_call) {
    const int64_t n = std::min(per_call, kTokens - t);
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = t + i;
    cpu::CpuBackend be(pool, ws, mm, att);
    ForwardContext ctx{pool, ws, mm, att, be, pos.data(), n, state};
    ffn.forward(ctx, x.data() + t * kEmbd, out.data() + t * kEmbd);
  }
  const double err = test::nmse(out.data(), ref.data(), out.size());
  RecordProperty("nmse", std::to_string(err));
  EXPECT_LT(err, type == GgmlType::F32 ? tolerance::kFp32Nmse : tolerance::kQuantizedNmse);
  double peak = 0;
  for (double v : ref) peak = std::max(peak, std::abs(v));
  EXPECT_GT(peak, 0.05);  // not a vacuous pass on near-zero outputs
}

INSTANTIATE_TEST_SUITE_P(Routing, MoeTest,
                         ::testing::Combine(::testing::Values(GgmlType::F32, GgmlType::Q8_0),
                                            ::testing::Values(int64_t{1}, int64_t{2}),
                                            ::testing::Bool(),
                                            ::testing::Values(int64_t{kTokens}, int64_t{1})));

TEST(MoeSelect, PicksTopKByProbabilityWithTiesToLowerIndex) {
  const float logits[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  int32_t experts[3];
  float weights[3];
  moe_select(logits, 5, MoeRouting{3, false}, experts, weights);
  EXPECT_EQ(experts[0], 1);
  EXPECT_EQ(experts[1], 3);
  EXPECT_EQ(experts[2], 4);
  double sum = 0;
  for (float l : logits) sum += std::exp(double{l});
  EXPECT_NEAR(weights[0], std::exp(2.0) / sum, 1e-7);
  EXPECT_NEAR(weights[2], std::exp(1.0) / sum, 1e-7);
  moe_select(logits, 5, MoeRouting{2, true}, experts, weights);
  EXPECT_NEAR(weights[0], 0.5, 1e-7);  // two equal logits renormalised
  EXPECT_NEAR(weights[1], 0.5, 1e-7);
}

TEST(MoeFeedForward, RefusesInconsistentConfig) {
  RandomExperts r(GgmlType::F32);
  EXPECT_THROW(MoeFeedForward(r.w, MoeRouting{0, false}), Error);
  EXPECT_THROW(MoeFeedForward(r.w, MoeRouting{kExperts + 1, false}), Error);
  MoeWeights missing = r.w;
  missing.down.pop_back();
  EXPECT_THROW(MoeFeedForward(missing, MoeRouting{2, false}), Error);
}

}  // namespace
}  // namespace ma
