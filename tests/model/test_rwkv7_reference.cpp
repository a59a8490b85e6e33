// The tiny trained RWKV-7 (../shared/models/tiny-rwkv-7v0-834K-{F32,F16}.gguf)
// against two independent implementations: rwkv.cpp's reference logits after
// the bytes `"in` (its own test's data), fed one at a time or as one prompt;
// and llama.cpp on the same files (log-probabilities at every scored
// position, perplexity and greedy text, recorded in tests/fixtures/rwkv7/).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <span>

#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/generate.h"
#include "runtime/perplexity.h"
#include "test_support.h"

namespace ma {
namespace {

constexpr const char* kModelF32 = "models/tiny-rwkv-7v0-834K-F32.gguf";
constexpr const char* kModelF16 = "models/tiny-rwkv-7v0-834K-F16.gguf";
const std::vector<int32_t> kReferenceIds = {34, 105, 110};  // the bytes "in

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_floats(const std::filesystem::path& p) {
  const std::string bytes = read_text(p);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// (model file, prefill instead of decode)
class Rwkv7ReferenceLogits : public ::testing::TestWithParam<std::tuple<const char*, bool>> {};

TEST_P(Rwkv7ReferenceLogits, MatchRwkvCpp) {
  const auto [file, prefill] = GetParam();
  MA_REQUIRE_SHARED(path, file);
  MA_REQUIRE_SHARED(expected_path, "models/rwkv7-reference/expected-logits-7v0-834K.bin");
  const auto model = load_model(path.string());
  EXPECT_EQ(model->schedule().to_string(), "R R R R R R R R R R R R");
  // The byte-level RWKV vocabulary from the GGUF spells the prompt as its bytes.
  EXPECT_EQ(model->tokenizer().encode("\"in", true), kReferenceIds);

  Session session(*model, SessionOptions{});
  const float* logits = nullptr;
  if (prefill) {
    logits = session.prefill(kReferenceIds);
  } else {
    for (int32_t id : kReferenceIds) logits = session.decode(id);
  }
  const auto want = read_floats(expected_path);
  ASSERT_EQ(want.size(), 256u);
  double abs_sum = 0;
  for (size_t i = 0; i < want.size(); ++i) abs_sum += std::abs(double{logits[i]} - want[i]);
  RecordProperty("abs_diff_sum", std::to_string(abs_sum));
  EXPECT_LT(abs_sum, tolerance::kRwkv7ReferenceLogitsAbsSum);
  EXPECT_EQ(std::max_element(logits, logits + 256) - logits,
            std::max_element(want.begin(), want.end()) - want.begin());
}

INSTANTIATE_TEST_SUITE_P(FilesAndModes, Rwkv7ReferenceLogits,
                         ::testing::Combine(::testing::Values(kModelF32, kModelF16),
                                            ::testing::Bool()));

// A prompt longer than several wkv chunks: prefill (chunked kernel), decode
// (recurrent kernel) and a split prefill give the same logits everywhere.
TEST(Rwkv7Model, PrefillDecodeAndSplitPrefillAgree) {
  MA_REQUIRE_SHARED(path, kModelF32);
  const auto model = load_model(path.string());
  const auto ids = model->tokenizer().encode(
      "Once upon a time, a small fox found a red ball in the tall grass.", true);
  ASSERT_GT(ids.size(), 48u);
  const size_t vocab = 256;
  SessionOptions so;
  so.n_ctx = 128;
  Session s(*model, so);
  std::vector<float> whole(ids.size() * vocab), split(ids.size() * vocab);
  s.prefill_all(ids, whole.data());
  s.reset();
  const size_t cut = 21;
  s.prefill_all(std::span(ids).first(cut), split.data());
  s.prefill_all(std::span(ids).subspan(cut), split.data() + cut * vocab);
  s.reset();
  for (size_t t = 0; t < ids.size(); ++t) {
    const float* step = s.decode(ids[t]);
    for (size_t v = 0; v < vocab; ++v) {
      ASSERT_NEAR(step[v], whole[t * vocab + v], 1e-4) << "position " << t;
      ASSERT_NEAR(split[t * vocab + v], whole[t * vocab + v], 1e-4) << "position " << t;
    }
  }
}

// The whole RWKV-7 state (both token shifts and the wkv state of every
// layer) lives in the recurrent slots: a snapshot restores it exactly.
TEST(Rwkv7Model, SnapshotRestoresExactly) {
  MA_REQUIRE_SHARED(path, kModelF16);
  const auto model = load_model(path.string());
  Session s(*model, SessionOptions{});
  s.prefill(model->tokenizer().encode("The little cat sat by the warm fire and", true));
  const SessionSnapshot snap = s.snapshot();
  auto continue_with = [&](Session& session) {
    std::vector<float> out;
    for (int32_t id : {32, 104, 101}) {
      const float* l = session.decode(id);
      out.insert(out.end(), l, l + 256);
    }
    return out;
  };
  const auto first = continue_with(s);
  s.restore(snap);
  EXPECT_EQ(continue_with(s), first);
  Session other(*model, SessionOptions{});
  other.restore(snap);
  EXPECT_EQ(continue_with(other), first);
}

// One file is enough here (llama.cpp gives both the same number); the F16
// one also exercises the half-precision matmuls.
TEST(Rwkv7LlamaCpp, PerplexityMatchesWithinAThousandth) {
  MA_REQUIRE_SHARED(path, kModelF16);
  const auto model = load_model(path.string());
  std::ifstream ref(test::source_dir() / "tests/fixtures/rwkv7/perplexity-c128.txt");
  double want = 0, want_err = 0;
  ref >> want >> want_err;
  ASSERT_GT(want, 1.0);
  const std::string text = read_text(test::source_dir() / "tests/fixtures/corpus/heldout.txt");
  SessionOptions so;
  so.n_ctx = 128;
  Session session(*model, so);
  const auto r = perplexity(session, model->tokenizer().encode(text, true), 128);
  EXPECT_EQ(r.n_chunks, 243);
  EXPECT_NEAR(r.ppl, want, 1e-3 * want);
  EXPECT_NEAR(r.ppl_error, want_err, 1e-2 * want_err);
}

// llama.cpp's log-probabilities at every scored position of the first two
// perplexity windows (llama-perplexity --kl-divergence-base, format in
// tests/fixtures/rwkv7/README.md): the same token ids from our tokenizer,
// log-probabilities within the model tolerance (the file's quantization is
// 1.2e-4) and the same top-1 token at every position.
TEST(Rwkv7LlamaCpp, LogProbabilitiesMatchAtEveryScoredPosition) {
  MA_REQUIRE_SHARED(path, kModelF32);
  const std::string bytes =
      read_text(test::source_dir() / "tests/fixtures/rwkv7/llamacpp-logprobs-c128.bin");
  ASSERT_GE(bytes.size(), 20u);
  ASSERT_EQ(bytes.substr(0, 8), "_logits_");
  int32_t header[3];  // n_ctx, n_vocab, n_chunk
  std::memcpy(header, bytes.data() + 8, sizeof(header));
  const int64_t n_ctx = header[0], n_vocab = header[1], n_chunk = header[2];
  ASSERT_EQ(n_ctx, 128);
  ASSERT_EQ(n_vocab, 256);
  ASSERT_EQ(n_chunk, 2);
  const int64_t first = n_ctx / 2, scored = n_ctx - 1 - first;
  const int64_t nv = 2 * ((n_vocab + 1) / 2) + 4;  // uint16s per position
  const size_t tokens_at = 20, probs_at = tokens_at + n_chunk * n_ctx * sizeof(int32_t);
  ASSERT_EQ(bytes.size(), probs_at + n_chunk * scored * nv * sizeof(uint16_t));
  std::vector<int32_t> tokens(static_cast<size_t>(n_chunk * n_ctx));
  std::memcpy(tokens.data(), bytes.data() + tokens_at, tokens.size() * sizeof(int32_t));

  const auto model = load_model(path.string());
  const std::string text = read_text(test::source_dir() / "tests/fixtures/corpus/heldout.txt");
  const auto ours = model->tokenizer().encode(text, true);
  ASSERT_GE(ours.size(), tokens.size());
  EXPECT_TRUE(std::equal(tokens.begin(), tokens.end(), ours.begin()));

  SessionOptions so;
  so.n_ctx = n_ctx;
  Session session(*model, so);
  std::vector<float> logits(static_cast<size_t>(n_ctx * n_vocab));
  std::vector<uint16_t> entry(static_cast<size_t>(nv));
  double max_err = 0;
  int64_t compared = 0;
  for (int64_t c = 0; c < n_chunk; ++c) {
    session.reset();
    session.prefill_all(std::span(tokens).subspan(static_cast<size_t>(c * n_ctx), n_ctx),
                        logits.data());
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const size_t at = probs_at + ((c * scored + j - first) * nv) * sizeof(uint16_t);
      std::memcpy(entry.data(), bytes.data() + at, entry.size() * sizeof(uint16_t));
      float scale, min_log_prob;
      std::memcpy(&scale, entry.data(), sizeof(float));
      std::memcpy(&min_log_prob, entry.data() + 2, sizeof(float));
      const uint16_t* q = entry.data() + 4;
      const float* l = logits.data() + j * n_vocab;
      const double mx = *std::max_element(l, l + n_vocab);
      double sum = 0;
      for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(l[v] - mx);
      const double lse = mx + std::log(sum);
      for (int64_t v = 0; v < n_vocab; ++v) {
        if (q[v] == 0) continue;  // at or below llama.cpp's floor of max - 16
        const double theirs = min_log_prob + double{scale} * q[v];
        max_err = std::max(max_err, std::abs(l[v] - lse - theirs));
        ++compared;
      }
      EXPECT_EQ(std::max_element(l, l + n_vocab) - l, std::max_element(q, q + n_vocab) - q)
          << "window " << c << " position " << j;
    }
  }
  RecordProperty("max_abs_log_prob_err", std::to_string(max_err));
  EXPECT_GT(compared, n_chunk * scored * 100);
  EXPECT_LT(max_err, tolerance::kModelLogitsMaxAbs);
}

class Rwkv7LlamaCppGreedy : public ::testing::TestWithParam<const char*> {};

TEST_P(Rwkv7LlamaCppGreedy, TextMatches) {
  MA_REQUIRE_SHARED(path, GetParam());
  const auto model = load_model(path.string());
  Session session(*model, SessionOptions{});
  GenerateOptions g;
  g.n_predict = 60;
  g.sampling.temperature = 0;
  std::string text = "Once upon a time";
  generate(session, model->tokenizer().encode(text, true), g,
           [&](std::string_view piece) { text += piece; });
  std::string want =
      read_text(test::source_dir() / "tests/fixtures/rwkv7/greedy-once-upon-a-time.txt");
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(text, want);
}

INSTANTIATE_TEST_SUITE_P(BothFiles, Rwkv7LlamaCppGreedy, ::testing::Values(kModelF32, kModelF16));

}  // namespace
}  // namespace ma
