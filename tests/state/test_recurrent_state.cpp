// The recurrent-state seam: the per-sequence pool of fixed slots, and a
// test-only linear mixer (a decaying running sum) that keeps its state there,
// to show that prefill, decode and reset work through SequenceState.
#include <gtest/gtest.h>

#include <cstdint>

#include "backend/cpu/cpu_backend.h"
#include "blocks/sequence_block.h"
#include "core/error.h"
#include "state/recurrent_state.h"

namespace ma {
namespace {

TEST(RecurrentState, SlotsAreDisjointZeroedAndReset) {
  RecurrentState rs({12, 400, 4});
  ASSERT_EQ(rs.n_slots(), 3);
  EXPECT_EQ(rs.slot_bytes(1), 400u);
  EXPECT_GE(rs.bytes(), 416u);
  for (int64_t s = 0; s < rs.n_slots(); ++s) {
    const size_t n = rs.slot_bytes(s) / sizeof(float);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(rs.slot(s)[i], 0.0f);
    for (size_t i = 0; i < n; ++i) rs.slot(s)[i] = static_cast<float>(s + 1);
  }
  EXPECT_EQ(rs.slot(0)[2], 1.0f);  // later slots did not overwrite earlier ones
  EXPECT_EQ(rs.slot(1)[99], 2.0f);
  EXPECT_EQ(rs.slot(2)[0], 3.0f);
  EXPECT_EQ((rs.slot(1) - rs.slot(0)) % 16, 0);  // 64-byte spacing
  const RecurrentState fork = rs;                // copy = fork of the sequence
  rs.reset();
  EXPECT_EQ(rs.slot(1)[99], 0.0f);
  EXPECT_EQ(fork.slot(1)[99], 2.0f);
  EXPECT_THROW(RecurrentState({6}), Error);
}

// out[t] = h_t, h_t = 0.5 h_{t-1} + x_t, per channel.
class DecayingSum final : public SequenceBlock {
 public:
  explicit DecayingSum(int64_t dim) : dim_(dim) {}
  MixerKind kind() const override { return MixerKind::kRgLru; }
  StateSpec state_spec() const override {
    return {StateFamily::kFixed, 0, static_cast<size_t>(dim_) * sizeof(float)};
  }
  void forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const override {
    float* h = ctx.state.recurrent.slot(slot);
    for (int64_t t = 0; t < ctx.n_tokens; ++t) {
      for (int64_t c = 0; c < dim_; ++c) {
        h[c] = 0.5f * h[c] + x[t * dim_ + c];
        out[t * dim_ + c] = h[c];
      }
    }
  }

 private:
  int64_t dim_;
};

TEST(RecurrentState, TestMixerPrefillEqualsDecodeAndResets) {
  const int64_t dim = 3, T = 5;
  const DecayingSum a(dim), b(dim);  // two recurrent layers: slots 0 and 1
  std::vector<float> x(static_cast<size_t>(T * dim));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 2.0f;
  ThreadPool pool(1);
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  auto run = [&](SequenceState& st, std::initializer_list<int64_t> chunks) {
    std::vector<float> mid(x.size()), out(x.size());
    int64_t t = 0;
    for (int64_t n : chunks) {
      std::vector<int64_t> pos(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = t + i;
      cpu::CpuBackend be(pool, ws, mm, att);
      ForwardContext ctx{pool, ws, mm, att, be, pos.data(), n, st};
      a.forward(ctx, x.data() + t * dim, mid.data() + t * dim, 0);
      b.forward(ctx, mid.data() + t * dim, out.data() + t * dim, 1);
      t += n;
    }
    return out;
  };
  SequenceState prefill, decode;
  prefill.recurrent = RecurrentState({a.state_spec().fixed_bytes, b.state_spec().fixed_bytes});
  decode.recurrent = prefill.recurrent;
  const auto p = run(prefill, {T});
  const auto d = run(decode, {1, 1, 1, 1, 1});
  EXPECT_EQ(p, d);
  EXPECT_FLOAT_EQ(p[0], x[0]);
  EXPECT_FLOAT_EQ(p[dim], 0.5f * x[0] + x[dim] + 0.5f * p[0]);  // layer b sums layer a
  prefill.recurrent.reset();
  EXPECT_EQ(run(prefill, {2, 3}), p);
}

}  // namespace
}  // namespace ma
