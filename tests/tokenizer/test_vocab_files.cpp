// Token-exact agreement with llama.cpp on its own test vectors, and
// decode(encode(x)) == x on the same inputs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gguf/gguf_file.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_test_files.h"

namespace ma {
namespace {

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

class TokenizerVocabFile : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerVocabFile, MatchesLlamaCppTestVectors) {
  const std::string name = std::string("vocab/ggml-vocab-") + GetParam() + ".gguf";
  MA_REQUIRE_SHARED(path, name);
  const auto file = gguf::File::open(path.string());
  const auto tok = Tokenizer::from_gguf(file);
  const auto inputs = test::read_vocab_inputs(path.string() + ".inp");
  const auto expected = test::read_vocab_outputs(path.string() + ".out");
  ASSERT_EQ(inputs.size(), expected.size());
  int failures = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto ids = tok->encode(inputs[i], /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(show(ids), show(expected[i])) << "case " << i << ": '" << inputs[i] << "'";
    failures += show(ids) != show(expected[i]);
    // Every input here is valid UTF-8 that these vocabularies can spell.
    EXPECT_EQ(tok->decode(ids), inputs[i]) << "round trip, case " << i;
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerVocabFile,
                         ::testing::Values("llama-spm", "gpt-2", "llama-bpe", "deepseek-coder",
                                           "falcon"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) c = (c == '-') ? '_' : c;
                           return s;
                         });

TEST(TokenizerCli, IdsMatchTestVectors) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-llama-bpe.gguf");
  const auto inputs = test::read_vocab_inputs(path.string() + ".inp");
  const auto expected = test::read_vocab_outputs(path.string() + ".out");
  const auto dir =
      std::filesystem::temp_directory_path() / ("ma_tok_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (size_t i : {size_t{0}, size_t{10}, inputs.size() - 1}) {
    const auto in = dir / "in.txt";
    { std::ofstream(in, std::ios::binary) << inputs[i]; }
    const auto out = dir / "out.txt";
    const std::string cmd = test::cli_path() + " tokenize -m " + path.string() + " -f " +
                            in.string() + " --ids --no-bos --plain > " + out.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::istringstream got(test::slurp(out));
    std::vector<int32_t> ids;
    for (int32_t id; got >> id;) ids.push_back(id);
    EXPECT_EQ(show(ids), show(expected[i])) << "case " << i;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ma
