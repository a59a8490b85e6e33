// info / run / logits / bench / perplexity on the tiny RWKV-7 GGUF, as a
// user calls them.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "run_cli.h"

namespace ma {
namespace {

using test::run_cli;

constexpr const char* kModel = "models/tiny-rwkv-7v0-834K-F16.gguf";

TEST(CliRwkv7, InfoPrintsTheScheduleAndWkvHeads) {
  MA_REQUIRE_SHARED(path, kModel);
  const auto text = run_cli("info -m " + path.string());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("schedule        R R R R R R R R R R R R\n"), std::string::npos)
      << text.out;
  const auto r = run_cli("info --json -m " + path.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "rwkv7");
  EXPECT_EQ(j["schedule"], "R R R R R R R R R R R R");
  EXPECT_EQ(j["head_dim"], 64);
  EXPECT_EQ(j["n_head"], 1);
  EXPECT_EQ(j["vocab"]["model"], "rwkv");
}

TEST(CliRwkv7, RunWritesTextAfterThePrompt) {
  MA_REQUIRE_SHARED(path, kModel);
  const auto r = run_cli("run -m " + path.string() + " -p 'Once upon a time' -n 24 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time", 0), 0u) << r.out;
  // 24 byte tokens follow the 16-byte prompt (and a final newline).
  EXPECT_GE(r.out.size(), 16u + 24u) << r.out;
  EXPECT_NE(r.err.find("generation: 24 tokens"), std::string::npos) << r.err;
  const auto sampled = run_cli("run -m " + path.string() + " -p 'The' -n 16 -s 3");
  EXPECT_EQ(sampled.exit_code, 0) << sampled.err;
}

TEST(CliRwkv7, LogitsPrefillAndDecodeAgree) {
  MA_REQUIRE_SHARED(path, kModel);
  const auto dir = std::filesystem::temp_directory_path();
  const auto pre = dir / ("ma_rwkv7_pre_" + std::to_string(::getpid()));
  const auto dec = dir / ("ma_rwkv7_dec_" + std::to_string(::getpid()));
  const std::string prompt = " -p 'A fox jumped over the lazy dog.' ";
  auto r = run_cli("logits -m " + path.string() + prompt + "--mode prefill -o " + pre.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("logits -m " + path.string() + prompt + "--mode decode -o " + dec.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a = test::read_all(pre), b = test::read_all(dec);
  ASSERT_EQ(a.size(), 31u * 256u * sizeof(float));  // one byte token per character
  ASSERT_EQ(b.size(), a.size());
  std::vector<float> fa(a.size() / 4), fb(b.size() / 4);
  std::memcpy(fa.data(), a.data(), a.size());
  std::memcpy(fb.data(), b.data(), b.size());
  for (size_t i = 0; i < fa.size(); ++i) ASSERT_NEAR(fa[i], fb[i], 1e-4) << i;
  std::filesystem::remove(pre);
  std::filesystem::remove(dec);
}

TEST(CliRwkv7, BenchAndPerplexityRun) {
  MA_REQUIRE_SHARED(path, kModel);
  const auto bench = run_cli("bench --json -m " + path.string() + " -p 32 -n 8 -r 2 -t 1");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  std::istringstream lines(bench.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_GT(j["avg_ts"].get<double>(), 0);
    ++n;
  }
  EXPECT_EQ(n, 2);
  const auto text = test::source_dir() / "tests/fixtures/corpus/sample-prompts.txt";
  const auto ppl = run_cli("perplexity -m " + path.string() + " -f " + text.string() + " -c 64");
  ASSERT_EQ(ppl.exit_code, 0) << ppl.err;
  EXPECT_NE(ppl.out.find("Final estimate: PPL = "), std::string::npos) << ppl.out;
}

}  // namespace
}  // namespace ma
