// stories260K (a really trained tiny Llama) against llama.cpp's own output on
// the same file: greedy text and perplexity (tests/fixtures/stories260k/README.md).
#include <gtest/gtest.h>

#include <fstream>

#include "model/arch_registry.h"
#include "runtime/generate.h"
#include "runtime/perplexity.h"
#include "test_support.h"

namespace ma {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Stories260K, GreedyTextMatchesLlamaCpp) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  Session session(*model, SessionOptions{});
  GenerateOptions g;
  g.n_predict = 60;
  g.sampling.temperature = 0;
  std::string text = "Once upon a time";
  generate(session, model->tokenizer().encode(text, true), g,
           [&](std::string_view piece) { text += piece; });
  std::string want =
      read_text(test::source_dir() / "tests/fixtures/stories260k/greedy-once-upon-a-time.txt");
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(text, want);
}

TEST(Stories260K, PerplexityMatchesLlamaCppWithinHalfAPercent) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  std::ifstream ref(test::source_dir() / "tests/fixtures/stories260k/perplexity-c128.txt");
  double want = 0, want_err = 0;
  ref >> want >> want_err;
  ASSERT_GT(want, 1.0);
  const std::string text = read_text(test::source_dir() / "tests/fixtures/corpus/heldout.txt");
  SessionOptions so;
  so.n_ctx = 128;
  Session session(*model, so);
  const auto r = perplexity(session, model->tokenizer().encode(text, true), 128);
  EXPECT_EQ(r.n_chunks, 130);
  EXPECT_NEAR(r.ppl, want, 0.005 * want);
  EXPECT_NEAR(r.ppl_error, want_err, 0.05 * want_err);
}

}  // namespace
}  // namespace ma
