// A real trained Hugging Face Llama (tinystories-656k) converted by our own
// converter writes the same greedy English as llama.cpp does on that file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "convert/converter.h"
#include "model/arch_registry.h"
#include "runtime/generate.h"
#include "test_support.h"

namespace ma {
namespace {

TEST(TinyStoriesConverted, GreedyTextMatchesLlamaCppOnOurFile) {
  MA_REQUIRE_SHARED(hf, "models/tinystories-656k-hf");
  const auto gguf = std::filesystem::temp_directory_path() /
                    ("ma_ts656k_" + std::to_string(::getpid()) + ".gguf");
  convert::ConvertOptions co;
  co.hf_dir = hf.string();
  co.out_path = gguf.string();
  co.type = "f32";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  const auto model = load_model(gguf.string());
  std::filesystem::remove(gguf);
  Session session(*model, SessionOptions{});
  GenerateOptions g;
  g.n_predict = 60;
  g.sampling.temperature = 0;
  std::string text = "Once upon a time";
  generate(session, model->tokenizer().encode(text, true), g,
           [&](std::string_view piece) { text += piece; });
  std::ifstream in(test::source_dir() /
                   "tests/fixtures/tinystories-656k/greedy-once-upon-a-time.txt");
  std::string want{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(text, want);
}

}  // namespace
}  // namespace ma
