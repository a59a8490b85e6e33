// Sampler: greedy paths, seeding, the distribution it draws from, truncation
// sets computed independently here, penalties at their exact thresholds, and
// parameter / logit validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "runtime/sampler.h"

namespace ma {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Distinct, non-trivial logits from a fixed seed.
std::vector<float> random_logits(size_t n, uint64_t seed, float scale = 3.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = d(rng) + 1e-4f * static_cast<float>(i);
  return v;
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

SamplerParams plain(float temperature) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  return p;
}

TEST(SamplerGreedy, TemperatureZeroAndTopKOnePickArgmaxWithAnySettings) {
  const auto logits = random_logits(300, 7);
  const int32_t want = argmax(logits);
  for (float top_p : {0.1f, 0.9f, 1.0f})
    for (float min_p : {0.0f, 0.3f, 1.0f})
      for (int top_k : {0, 1, 5, 1000}) {
        SamplerParams p;
        p.top_p = top_p;
        p.min_p = min_p;
        p.top_k = top_k;
        p.seed = 99;
        p.temperature = 0.0f;
        Sampler greedy(p, 300);
        EXPECT_EQ(greedy.sample(logits), want);
        p.temperature = 5.0f;  // hot, but top_k = 1 leaves one candidate
        p.top_k = 1;
        Sampler topk1(p, 300);
        for (int i = 0; i < 20; ++i) EXPECT_EQ(topk1.sample(logits), want);
      }
}

TEST(SamplerGreedy, TiesGoToLowestId) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 2.0f};
  Sampler greedy(plain(0.0f), 5);
  EXPECT_EQ(greedy.sample(logits), 1);
  SamplerParams p = plain(1.0f);
  p.top_k = 1;
  Sampler topk1(p, 5);
  EXPECT_EQ(topk1.sample(logits), 1);
}

TEST(SamplerSeed, SameSeedSameSequenceDifferentSeedDifferent) {
  const auto logits = random_logits(50, 3, 0.5f);  // flat: many plausible tokens
  auto run = [&](uint64_t seed) {
    SamplerParams p = plain(1.0f);
    p.seed = seed;
    Sampler s(p, 50);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.sample(logits));
    return out;
  };
  const auto a = run(42);
  EXPECT_EQ(a, run(42));
  EXPECT_NE(a, run(43));
  EXPECT_GT(std::set<int32_t>(a.begin(), a.end()).size(), 10u);  // really random
}

TEST(SamplerSeed, ResetRestartsAFixedSeed) {
  const auto logits = random_logits(50, 4, 0.5f);
  Sampler s(plain(1.0f), 50);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(s.sample(logits));
  s.reset();
  for (int i = 0; i < 50; ++i) second.push_back(s.sample(logits));
  EXPECT_EQ(first, second);
  EXPECT_EQ(s.seed(), 1234u);
}

TEST(SamplerSeed, RandomSeedDiffersBetweenSamplers) {
  SamplerParams p = plain(1.0f);
  p.seed = kRandomSeed;
  Sampler a(p, 10), b(p, 10);
  EXPECT_NE(a.seed(), b.seed());
}

TEST(SamplerDistribution, TemperatureOneMatchesSoftmax) {
  const std::vector<float> logits = {1.0f, 2.5f, -0.5f, 0.3f, 1.7f};
  double total = 0.0;
  std::vector<double> prob(5);
  for (size_t i = 0; i < 5; ++i) total += prob[i] = std::exp(static_cast<double>(logits[i]));
  for (double& q : prob) q /= total;

  Sampler s(plain(1.0f), 5);
  constexpr int kDraws = 100000;
  std::vector<int> count(5, 0);
  for (int i = 0; i < kDraws; ++i) ++count[static_cast<size_t>(s.sample(logits))];
  double chi2 = 0.0;
  for (size_t i = 0; i < 5; ++i) {
    const double freq = count[i] / static_cast<double>(kDraws);
    EXPECT_LT(std::abs(freq - prob[i]), 0.01) << "token " << i;
    const double expect = prob[i] * kDraws;
    chi2 += (count[i] - expect) * (count[i] - expect) / expect;
  }
  EXPECT_LT(chi2, 18.47);  // 4 degrees of freedom, p = 0.001
}

TEST(SamplerDistribution, TemperatureSharpensAndFlattens) {
  const std::vector<float> logits = {0.0f, 1.0f};
  auto freq1 = [&](float t) {
    Sampler s(plain(t), 2);
    int ones = 0;
    for (int i = 0; i < 20000; ++i) ones += s.sample(logits);
    return ones / 20000.0;
  };
  // P(1) = 1 / (1 + exp(-1/T)).
  EXPECT_NEAR(freq1(0.5f), 1.0 / (1.0 + std::exp(-2.0)), 0.015);
  EXPECT_NEAR(freq1(2.0f), 1.0 / (1.0 + std::exp(-0.5)), 0.015);
}

// The allowed set by llama.cpp's definitions, written out plainly in doubles.
std::set<int32_t> allowed_set(const std::vector<float>& logits, int top_k, double top_p,
                              double min_p) {
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  if (top_k > 0 && static_cast<size_t>(top_k) < order.size())
    order.resize(static_cast<size_t>(top_k));
  if (top_p < 1.0) {
    const double max = logits[static_cast<size_t>(order[0])];
    double total = 0.0;
    for (int32_t id : order) total += std::exp(logits[static_cast<size_t>(id)] - max);
    double cum = 0.0;
    size_t keep = order.size();
    for (size_t i = 0; i < order.size(); ++i) {
      cum += std::exp(logits[static_cast<size_t>(order[i])] - max) / total;
      if (cum >= top_p) {
        keep = i + 1;
        break;
      }
    }
    order.resize(keep);
  }
  if (min_p > 0.0) {
    const double pmax = std::exp(static_cast<double>(logits[static_cast<size_t>(order[0])]));
    std::erase_if(order, [&](int32_t id) {
      return std::exp(static_cast<double>(logits[static_cast<size_t>(id)])) < min_p * pmax;
    });
  }
  return {order.begin(), order.end()};
}

struct Truncation {
  int top_k;
  float top_p;
  float min_p;
};

TEST(SamplerTruncation, NeverLeavesTheAllowedSet) {
  const Truncation cases[] = {{5, 1.0f, 0.0f},   {0, 0.7f, 0.0f},  {0, 1.0f, 0.2f},
                              {12, 0.8f, 0.0f},  {0, 0.9f, 0.1f},  {40, 0.95f, 0.05f},
                              {3, 0.99f, 0.01f}, {60, 0.5f, 0.02f}};
  const auto logits = random_logits(64, 11, 1.5f);
  for (const Truncation& c : cases) {
    const auto allowed = allowed_set(logits, c.top_k, c.top_p, c.min_p);
    ASSERT_FALSE(allowed.empty());
    SamplerParams p = plain(50.0f);  // hot after truncation: every kept token shows up
    p.top_k = c.top_k;
    p.top_p = c.top_p;
    p.min_p = c.min_p;
    Sampler s(p, 64);
    std::set<int32_t> seen;
    for (int i = 0; i < 4000; ++i) {
      const int32_t t = s.sample(logits);
      ASSERT_TRUE(allowed.count(t))
          << "token " << t << " top_k " << c.top_k << " top_p " << c.top_p << " min_p " << c.min_p;
      seen.insert(t);
    }
    EXPECT_EQ(seen, allowed) << "top_k " << c.top_k << " top_p " << c.top_p << " min_p " << c.min_p;
  }
}

TEST(SamplerPenalty, RepeatPenaltyDividesPositiveLogits) {
  // Token 0 is 2.0, token 1 is 1.9: 2.0 / r drops below 1.9 exactly when r > 2.0 / 1.9.
  const std::vector<float> logits = {2.0f, 1.9f, -3.0f, 0.5f};
  for (auto [r, want] : {std::pair{1.0f, 0}, {1.05f, 0}, {1.06f, 1}, {1.5f, 1}}) {
    SamplerParams p = plain(0.0f);
    p.repeat_penalty = r;
    Sampler s(p, 4);
    EXPECT_EQ(s.sample(logits), 0);  // nothing accepted yet: no penalty
    s.accept(0);
    EXPECT_EQ(s.sample(logits), want) << "repeat_penalty " << r;
  }
}

TEST(SamplerPenalty, RepeatPenaltyMultipliesNegativeLogits) {
  // -1.0 * r falls below -1.2 exactly when r > 1.2.
  const std::vector<float> logits = {-1.0f, -1.2f, -4.0f};
  for (auto [r, want] : {std::pair{1.15f, 0}, {1.25f, 1}}) {
    SamplerParams p = plain(0.0f);
    p.repeat_penalty = r;
    Sampler s(p, 3);
    s.accept(0);
    EXPECT_EQ(s.sample(logits), want) << "repeat_penalty " << r;
  }
}

TEST(SamplerPenalty, WindowForgetsOldTokens) {
  const std::vector<float> logits = {2.0f, 1.9f, -3.0f, 0.5f};
  SamplerParams p = plain(0.0f);
  p.repeat_penalty = 1.5f;
  p.penalty_last_n = 2;
  Sampler s(p, 4);
  s.accept(0);
  s.accept(2);
  EXPECT_EQ(s.sample(logits), 1);  // 0 still in the window
  s.accept(3);
  EXPECT_EQ(s.sample(logits), 0);  // 0 pushed out
  s.accept(0);
  EXPECT_EQ(s.sample(logits), 1);
  s.reset();
  EXPECT_EQ(s.sample(logits), 0);  // reset clears the history
  p.penalty_last_n = 0;            // 0: penalties off
  Sampler off(p, 4);
  off.accept(0);
  EXPECT_EQ(off.sample(logits), 0);
}

TEST(SamplerPenalty, FrequencyScalesWithCountPresenceDoesNot) {
  // Token 0 at 3.0 seen twice, token 1 at 2.0 never: token 1 wins once the
  // penalty on token 0 exceeds 1.0.
  const std::vector<float> logits = {3.0f, 2.0f, 0.0f};
  struct Case {
    float freq, pres;
    int want;
  };
  for (const Case c : {Case{0.45f, 0.0f, 0}, Case{0.55f, 0.0f, 1}, Case{0.0f, 0.9f, 0},
                       Case{0.0f, 1.1f, 1}, Case{0.3f, 0.3f, 0}, Case{0.3f, 0.5f, 1}}) {
    SamplerParams p = plain(0.0f);
    p.frequency_penalty = c.freq;
    p.presence_penalty = c.pres;
    Sampler s(p, 3);
    s.accept(0);
    s.accept(0);
    s.accept(2);
    EXPECT_EQ(s.sample(logits), c.want) << "freq " << c.freq << " pres " << c.pres;
  }
  // Negative penalties encourage repeats (OpenAI allows [-2, 2]; any finite value is accepted).
  SamplerParams p = plain(0.0f);
  p.presence_penalty = -3.5f;  // token 2: 0.0 + 3.5 > 3.0
  Sampler s(p, 3);
  s.accept(2);
  EXPECT_EQ(s.sample(logits), 2);
}

TEST(SamplerPenalty, PenaltiesShiftTheDistribution) {
  // logit 1.0 with repeat 2 -> 0.5, then frequency 0.25 * 2 -> 0.0: equal odds with token 1.
  const std::vector<float> logits = {1.0f, 0.0f};
  SamplerParams p = plain(1.0f);
  p.repeat_penalty = 2.0f;
  p.frequency_penalty = 0.25f;
  Sampler s(p, 2);
  s.accept(0);
  s.accept(0);
  int zeros = 0;
  for (int i = 0; i < 20000; ++i) zeros += s.sample(logits) == 0;
  EXPECT_NEAR(zeros / 20000.0, 0.5, 0.015);
}

TEST(SamplerValidation, InvalidParamsThrowNamingTheParameter) {
  auto expect_throw = [](SamplerParams p, const char* name) {
    try {
      Sampler s(p, 10);
      ADD_FAILURE() << "no throw for " << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  SamplerParams p;
  p.top_p = 0.0f;
  expect_throw(p, "top_p");
  p = {};
  p.top_p = 1.5f;
  expect_throw(p, "top_p");
  p = {};
  p.top_p = kNaN;
  expect_throw(p, "top_p");
  p = {};
  p.min_p = -0.1f;
  expect_throw(p, "min_p");
  p = {};
  p.min_p = 1.1f;
  expect_throw(p, "min_p");
  p = {};
  p.top_k = -1;
  expect_throw(p, "top_k");
  p = {};
  p.temperature = -0.5f;
  expect_throw(p, "temperature");
  p = {};
  p.temperature = kInf;
  expect_throw(p, "temperature");
  p = {};
  p.repeat_penalty = 0.0f;
  expect_throw(p, "repeat_penalty");
  p = {};
  p.repeat_penalty = -1.0f;
  expect_throw(p, "repeat_penalty");
  p = {};
  p.frequency_penalty = kNaN;
  expect_throw(p, "frequency_penalty");
  p = {};
  p.presence_penalty = kInf;
  expect_throw(p, "presence_penalty");
  p = {};
  p.penalty_last_n = -1;
  expect_throw(p, "penalty_last_n");
  EXPECT_THROW(Sampler(SamplerParams{}, 0), Error);
  // Boundaries that are valid.
  p = {};
  p.top_p = 1.0f;
  p.min_p = 1.0f;
  p.top_k = 0;
  p.temperature = 0.0f;
  EXPECT_NO_THROW(Sampler(p, 10));
}

TEST(SamplerValidation, BadLogitsAndTokensThrow) {
  Sampler s(SamplerParams{}, 4);
  const std::vector<float> all_neg_inf(4, -kInf);
  EXPECT_THROW(s.sample(all_neg_inf), Error);
  const std::vector<float> all_nan(4, kNaN);
  EXPECT_THROW(s.sample(all_nan), Error);
  const std::vector<float> mixed = {kNaN, -kInf, kNaN, -kInf};
  try {
    s.sample(mixed);
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-inf"), std::string::npos) << e.what();
  }
  const std::vector<float> short_logits = {1.0f, 2.0f};
  EXPECT_THROW(s.sample(short_logits), Error);
  EXPECT_THROW(s.accept(4), Error);
  EXPECT_THROW(s.accept(-1), Error);
  Sampler greedy(plain(0.0f), 4);
  EXPECT_THROW(greedy.sample(all_neg_inf), Error);
}

TEST(SamplerNonFinite, NaNIsNeverChosenAndInfWins) {
  const std::vector<float> with_nan = {kNaN, 0.3f, kNaN, 0.1f, -kInf};
  Sampler hot(plain(2.0f), 5);
  for (int i = 0; i < 2000; ++i) {
    const int32_t t = hot.sample(with_nan);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
  Sampler greedy(plain(0.0f), 5);
  EXPECT_EQ(greedy.sample(with_nan), 1);

  const std::vector<float> with_inf = {1.0f, kInf, 2.0f, kNaN, kInf};
  SamplerParams p;  // default truncation chain on +inf must not produce NaN weights
  p.seed = 5;
  Sampler s(p, 5);
  std::set<int32_t> seen;
  for (int i = 0; i < 500; ++i) seen.insert(s.sample(with_inf));
  EXPECT_EQ(seen, (std::set<int32_t>{1, 4}));
  EXPECT_EQ(greedy.sample(with_inf), 1);
}

TEST(SamplerDefaults, MatchLlamaCpp) {
  const SamplerParams p;
  EXPECT_FLOAT_EQ(p.temperature, 0.8f);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.0f);
  EXPECT_EQ(p.penalty_last_n, 64);
  EXPECT_EQ(p.seed, kRandomSeed);
  // A large vocabulary through the full default chain stays inside top-40.
  const auto logits = random_logits(32000, 8);
  std::vector<float> sorted = logits;
  std::nth_element(sorted.begin(), sorted.begin() + 39, sorted.end(), std::greater<>());
  Sampler s(p, 32000);
  for (int i = 0; i < 200; ++i)
    EXPECT_GE(logits[static_cast<size_t>(s.sample(logits))], sorted[39]);
}

}  // namespace
}  // namespace ma
