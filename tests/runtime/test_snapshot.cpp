// Snapshot a sequence's whole state after a prompt, decode, restore, decode
// again: the logits are identical. Covers KV pages (stories260K, a Llama) and
// recurrent slots (the Mamba fixture, converted by our converter).
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/arch_registry.h"
#include "model/hf_reference.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

// Decodes `tokens` and returns every step's logits, concatenated.
std::vector<float> decode_all(Session& s, const std::vector<int32_t>& tokens) {
  const size_t V = static_cast<size_t>(s.model().hparams().n_vocab);
  std::vector<float> out;
  for (int32_t t : tokens) {
    const float* l = s.decode(t);
    out.insert(out.end(), l, l + V);
  }
  return out;
}

void expect_snapshot_round_trip(const Model& model) {
  SessionOptions so;
  so.n_ctx = 64;
  Session s(model, so);
  const std::vector<int32_t> prompt = {1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51};
  const std::vector<int32_t> cont = {60, 61, 62, 63};
  s.prefill(prompt);
  const SessionSnapshot snap = s.snapshot();
  EXPECT_EQ(snap.n_past, static_cast<int64_t>(prompt.size()));
  const auto first = decode_all(s, cont);
  // Wander off, then come back.
  decode_all(s, {70, 71, 72});
  s.restore(snap);
  EXPECT_EQ(s.n_past(), static_cast<int64_t>(prompt.size()));
  const auto again = decode_all(s, cont);
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(first[i], again[i]) << i;
  // A fresh session of the same model continues identically from the snapshot.
  Session other(model, so);
  other.restore(snap);
  const auto elsewhere = decode_all(other, cont);
  for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(first[i], elsewhere[i]) << i;
  // A snapshot too long for a smaller context is refused.
  SessionOptions small = so;
  small.n_ctx = 8;
  Session tiny(model, small);
  EXPECT_THROW(tiny.restore(snap), Error);
}

TEST(SessionSnapshot, AttentionModelRestoresExactly) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  expect_snapshot_round_trip(*load_model(path.string()));
}

TEST(SessionSnapshot, RecurrentModelRestoresExactly) {
  const std::string gguf =
      test::convert_hf_fixture(test::source_dir() / "tests/fixtures/mamba-tiny-hf", "snapshot");
  const auto model = load_model(gguf);
  std::filesystem::remove(gguf);
  expect_snapshot_round_trip(*model);
}

}  // namespace
}  // namespace ma
