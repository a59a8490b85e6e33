// The demo model the repo ships (models/demo-llama.gguf, trained by
// tools/train/train_demo_llama.py): its perplexity on held-out stories
// matches llama.cpp's on the same file (reference: 1.6813 from
// `llama-perplexity -m models/demo-llama.gguf -f tests/fixtures/corpus/heldout.txt -c 256 -b 256`),
// and sampling with the default settings writes sentences.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(DemoModel, PerplexityMatchesLlamaCpp) {
  const auto model = load_model((test::source_dir() / "models/demo-llama.gguf").string());
  std::ifstream ref(test::source_dir() / "tests/fixtures/corpus/demo-llama-perplexity-c256.txt");
  double want = 0, want_err = 0;
  ref >> want >> want_err;
  ASSERT_GT(want, 1.0);
  SessionOptions so;
  so.n_ctx = 256;
  Session session(*model, so);
  const std::string text = read_text(test::source_dir() / "tests/fixtures/corpus/heldout.txt");
  const auto r = perplexity(session, model->tokenizer().encode(text, true), 256);
  EXPECT_NEAR(r.ppl, want, 0.005 * want);
  EXPECT_LT(r.ppl, 2.0);  // a trained model: near-certain on its own kind of text
}

TEST(DemoModel, DefaultSamplingWritesSentences) {
  const auto model = load_model((test::source_dir() / "models/demo-llama.gguf").string());
  Session session(*model, SessionOptions{});
  GenerateOptions g;
  g.n_predict = 80;
  g.sampling.seed = 3;
  std::string text;
  generate(session, model->tokenizer().encode("Once upon a time", true), g,
           [&](std::string_view piece) { text += piece; });
  EXPECT_GE(std::count(text.begin(), text.end(), '.'), 2) << text;
  for (const char* word : {" the ", " a ", " was "}) {
    EXPECT_NE(text.find(word), std::string::npos) << word << " missing from: " << text;
  }
}

}  // namespace
}  // namespace ma
