// Two RWKV-7 layers (the first, which stores its values, and a later one,
// which mixes its values towards them), time mix and channel mix, against
// the fp64 sequential reference (ops/reference_rwkv7.h): a whole-prompt
// prefill (chunked wkv kernel), token-by-token decode (recurrent kernel) and
// uneven batches must all give the reference's outputs and its final slot
// contents (both token shifts and the wkv state), within the scan tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../ops/op_test_util.h"
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "mixers/rwkv7.h"
#include "mixers/rwkv7_channel_mix.h"
#include "ops/reference_rwkv7.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::F32Weight;
using test::random_floats;

std::vector<float> sigmoids(size_t n, uint32_t seed) {
  auto v = random_floats(n, seed, 1.5f);
  for (float& x : v) x = 1.0f / (1.0f + std::exp(-x));
  return v;
}

std::vector<float> around(size_t n, uint32_t seed, float centre, float spread) {
  auto v = random_floats(n, seed, spread);
  for (float& x : v) x += centre;
  return v;
}

// Random weights of one layer, scaled so activations stay near unit size.
struct RandomRwkv7Layer {
  Rwkv7Shape s;
  std::vector<F32Weight> mats;  // keeps every matrix's values alive
  Rwkv7TimeMixWeights tm;
  std::vector<float> lerp_k;
  Weight ffn_key, ffn_value;

  RandomRwkv7Layer(const Rwkv7Shape& shape, int64_t n_ff, uint32_t seed) : s(shape) {
    const int64_t c = s.n_embd;
    const auto cz = static_cast<size_t>(c);
    mats.reserve(16);
    auto mat = [&](int64_t in, int64_t out, float std) {
      mats.emplace_back(in, out, seed++, std);
      return mats.back().w;
    };
    const float unit = 1.0f / std::sqrt(static_cast<float>(c));
    tm.lerp = sigmoids(kLerpCount * cz, seed++);
    tm.receptance = mat(c, c, unit);
    tm.key = mat(c, c, unit);
    tm.value = mat(c, c, unit);
    tm.output = mat(c, c, unit);
    tm.w0 = around(cz, seed++, 0.5f, 1.0f);
    tm.w1 = mat(c, s.rank_decay, unit);
    tm.w2 = mat(s.rank_decay, c, 0.5f);
    tm.a0 = random_floats(cz, seed++);
    tm.a1 = mat(c, s.rank_iclr, unit);
    tm.a2 = mat(s.rank_iclr, c, 0.4f);
    tm.v0 = random_floats(cz, seed++);
    tm.v1 = mat(c, s.rank_value, unit);
    tm.v2 = mat(s.rank_value, c, 0.4f);
    tm.g1 = mat(c, s.rank_gate, unit);
    tm.g2 = mat(s.rank_gate, c, 0.5f);
    tm.k_k = around(cz, seed++, 1.0f, 0.3f);
    tm.k_a = sigmoids(cz, seed++);
    tm.r_k = random_floats(cz, seed++, 0.5f);
    tm.ln_w = around(cz, seed++, 1.0f, 0.2f);
    tm.ln_b = random_floats(cz, seed++, 0.1f);
    lerp_k = sigmoids(cz, seed++);
    ffn_key = mat(c, n_ff, unit);
    ffn_value = mat(n_ff, c, 1.0f / std::sqrt(static_cast<float>(n_ff)));
  }
};

constexpr int64_t kTokens = 37;
constexpr int64_t kFf = 96;
const Rwkv7Shape kShape{64, 16, 8, 6, 5, 7};  // 4 heads of 16; low-rank widths

// The reference over all tokens at once: per layer, its time-mix output,
// channel-mix output and final slot (time shift, channel shift, wkv state).
struct ReferenceRun {
  std::vector<std::vector<double>> outputs;  // TM0, CM0, TM1, CM1: [T x C] each
  std::vector<std::vector<double>> slots;    // per layer, Rwkv7SlotLayout order
};

ReferenceRun run_reference(const std::vector<RandomRwkv7Layer>& layers,
                           const std::vector<std::vector<float>>& inputs) {
  const int64_t c = kShape.n_embd;
  const Rwkv7SlotLayout lay{c, kShape.head_size};
  ReferenceRun run;
  std::vector<double> v_first(static_cast<size_t>(kTokens * c));
  for (size_t l = 0; l < layers.size(); ++l) {
    std::vector<double> slot(static_cast<size_t>(lay.floats()), 0.0);
    std::vector<double> tm_out(static_cast<size_t>(kTokens * c)), cm_out(tm_out.size());
    const auto x_tm = test::to_double(inputs[2 * l]);
    const auto x_cm = test::to_double(inputs[2 * l + 1]);
    ref::rwkv7_time_mix(layers[l].tm, kShape, l == 0, x_tm.data(), kTokens,
                        slot.data() + lay.time_shift(), slot.data() + lay.wkv(), v_first.data(),
                        tm_out.data());
    ref::rwkv7_channel_mix(layers[l].lerp_k, layers[l].ffn_key, layers[l].ffn_value, x_cm.data(),
                           kTokens, slot.data() + lay.channel_shift(), cm_out.data());
    run.outputs.push_back(std::move(tm_out));
    run.outputs.push_back(std::move(cm_out));
    run.slots.push_back(std::move(slot));
  }
  return run;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

class Rwkv7MixerTest : public ::testing::TestWithParam<std::vector<int64_t>> {};

TEST_P(Rwkv7MixerTest, MatchesFp64ReferenceOutputsAndState) {
  const int64_t c = kShape.n_embd;
  std::vector<RandomRwkv7Layer> layers;
  layers.emplace_back(kShape, kFf, 100);
  layers.emplace_back(kShape, kFf, 200);
  // Inputs of TM0, CM0, TM1, CM1 (each block sees its own normalised input).
  std::vector<std::vector<float>> inputs;
  for (uint32_t i = 0; i < 4; ++i) inputs.push_back(random_floats(kTokens * c, 300 + i));
  const ReferenceRun want = run_reference(layers, inputs);

  std::vector<Rwkv7TimeMix> time_mix;
  std::vector<Rwkv7ChannelMix> channel_mix;
  for (size_t l = 0; l < layers.size(); ++l) {
    time_mix.emplace_back(layers[l].tm, kShape, l == 0);
    channel_mix.emplace_back(layers[l].lerp_k, layers[l].ffn_key, layers[l].ffn_value,
                             time_mix.back().layout());
  }
  ThreadPool pool(2);
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  SequenceState state;
  const size_t slot_bytes = time_mix[0].state_spec().fixed_bytes;
  state.recurrent = RecurrentState({slot_bytes, slot_bytes});
  std::vector<std::vector<float>> got(4, std::vector<float>(static_cast<size_t>(kTokens * c)));
  std::vector<int64_t> pos(static_cast<size_t>(kTokens));
  int64_t t = 0;
  for (int64_t n : GetParam()) {
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = t + i;
    cpu::CpuBackend be(pool, ws, mm, att);
    ForwardContext ctx{pool, ws, mm, att, be, pos.data(), n, state};
    for (int64_t l = 0; l < 2; ++l) {  // in model order, as one forward pass runs them
      ctx.layer_slot = l;
      const int64_t off = t * c;
      time_mix[l].forward(ctx, inputs[2 * l].data() + off, got[2 * l].data() + off, l);
      channel_mix[l].forward(ctx, inputs[2 * l + 1].data() + off, got[2 * l + 1].data() + off);
    }
    t += n;
  }
  ASSERT_EQ(t, kTokens);

  const char* names[] = {"time mix 0", "channel mix 0", "time mix 1", "channel mix 1"};
  for (size_t b = 0; b < 4; ++b) {
    const double err = test::max_abs_diff(got[b].data(), want.outputs[b].data(), got[b].size());
    EXPECT_LT(err, tolerance::kScanMaxAbs) << names[b];
    EXPECT_GT(max_abs(want.outputs[b]), 0.3) << names[b];
    EXPECT_LT(max_abs(want.outputs[b]), 30.0) << names[b];
  }
  for (int64_t l = 0; l < 2; ++l) {
    const auto& slot = want.slots[static_cast<size_t>(l)];
    const double err = test::max_abs_diff(state.recurrent.slot(l), slot.data(), slot.size());
    EXPECT_LT(err, tolerance::kScanMaxAbs) << "slot of layer " << l;
    EXPECT_GT(max_abs(slot), 0.3);
  }
}

INSTANTIATE_TEST_SUITE_P(Rwkv7Batches, Rwkv7MixerTest,
                         ::testing::Values(std::vector<int64_t>{kTokens},  // prefill
                                           std::vector<int64_t>(kTokens, 1),
                                           std::vector<int64_t>{5, 1, 16, 15}));

// The later layer's values really move towards the first layer's: with the
// residual mix forced to all (v0 large), the later layer equals one whose
// value projection is the first layer's.
TEST(Rwkv7Mixer, ValueResidualTakesTheFirstLayersValues) {
  const int64_t c = kShape.n_embd;
  RandomRwkv7Layer first(kShape, kFf, 100), later(kShape, kFf, 200);
  std::fill(later.tm.v0.begin(), later.tm.v0.end(), 40.0f);
  RandomRwkv7Layer same_values = later;
  same_values.tm.value = first.tm.value;
  // Both layers see the same input, so their value inputs (same lerp) match.
  same_values.tm.lerp = first.tm.lerp;
  later.tm.lerp = first.tm.lerp;
  const auto x = random_floats(static_cast<size_t>(6 * c), 400);
  auto run = [&](const RandomRwkv7Layer& second) {
    const Rwkv7TimeMix tm0(first.tm, kShape, true), tm1(second.tm, kShape, false);
    ThreadPool pool(1);
    Workspace ws;
    cpu::MatmulScratch mm;
    cpu::AttentionScratch att;
    SequenceState state;
    const size_t bytes = tm0.state_spec().fixed_bytes;
    state.recurrent = RecurrentState({bytes, bytes});
    std::vector<int64_t> pos{0, 1, 2, 3, 4, 5};
    cpu::CpuBackend be(pool, ws, mm, att);
    ForwardContext ctx{pool, ws, mm, att, be, pos.data(), 6, state};
    std::vector<float> out0(x.size()), out1(x.size());
    tm0.forward(ctx, x.data(), out0.data(), 0);
    tm1.forward(ctx, x.data(), out1.data(), 1);
    return out1;
  };
  const auto a = run(later), b = run(same_values);
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double{std::abs(a[i] - b[i])});
  EXPECT_LT(diff, 1e-5);
}

TEST(Rwkv7Mixer, RefusesBadShapes) {
  RandomRwkv7Layer layer(kShape, kFf, 100);
  Rwkv7Shape bad = kShape;
  bad.head_size = 24;  // does not divide n_embd
  EXPECT_THROW(Rwkv7TimeMix(layer.tm, bad, false), Error);
  Rwkv7TimeMixWeights missing = layer.tm;
  missing.r_k.pop_back();
  EXPECT_THROW(Rwkv7TimeMix(missing, kShape, false), Error);
  EXPECT_THROW(Rwkv7ChannelMix(layer.lerp_k, layer.ffn_value, layer.ffn_key,
                               Rwkv7SlotLayout{kShape.n_embd, kShape.head_size}),
               Error);
}

}  // namespace
}  // namespace ma
