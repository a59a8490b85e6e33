// `metal-attention info` on real files: the numbers users read, and one
// clear error for bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_cli.h"

namespace ma {
namespace {

using test::run_cli;

TEST(CliInfo, Stories260KJson) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto r = run_cli("info --json -m " + path.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["n_layers"], 5);
  EXPECT_EQ(j["n_embd"], 64);
  EXPECT_EQ(j["n_head"], 8);
  EXPECT_EQ(j["n_head_kv"], 4);
  EXPECT_EQ(j["head_dim"], 8);
  EXPECT_EQ(j["n_ff"], 172);
  EXPECT_EQ(j["context_length"], 2048);
  EXPECT_EQ(j["vocab"]["model"], "llama");
  EXPECT_EQ(j["vocab"]["size"], 512);
  EXPECT_EQ(j["tensor_types"]["F32"], 48);
  EXPECT_EQ(j["schedule"], "A A A A A");
  EXPECT_EQ(j["special_tokens"]["bos"]["id"], 1);
  EXPECT_EQ(j["special_tokens"]["bos"]["text"], "<s>");
  // Parameters: embeddings 512x64, output 512x64, norms, 5 x (4 attn + 3 ffn + 2 norms).
  const uint64_t per_layer = 64 * 64 + 64 * 32 * 2 + 64 * 64 + 3 * 64 * 172 + 2 * 64;
  EXPECT_EQ(j["n_params"], 2 * 512 * 64 + 64 + 5 * per_layer);
  // All F32; a decode token reads every weight but the embedding table
  // (the output head is its own tensor).
  EXPECT_EQ(j["weight_bytes"], 4 * j["n_params"].get<uint64_t>());
  EXPECT_EQ(j["decode_bytes"], 4 * (j["n_params"].get<uint64_t>() - 512 * 64));
  // F16 KV: 2 (K,V) x 2048 ctx x 4 heads x 8 dims x 2 bytes x 5 layers.
  EXPECT_EQ(j["memory"]["kv_cache_f16"], 2 * 2048 * 4 * 8 * 2 * 5);
}

TEST(CliInfo, TextAndJsonOnEveryGgufInShared) {
  MA_REQUIRE_SHARED(root, "");
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".gguf") continue;
    const auto r = run_cli("info -m " + e.path().string());
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
    EXPECT_NE(r.out.find("architecture"), std::string::npos);
    EXPECT_NE(r.out.find("vocabulary"), std::string::npos);
    const auto j = run_cli("info --json -m " + e.path().string());
    EXPECT_EQ(j.exit_code, 0) << e.path() << ": " << j.err;
    EXPECT_NO_THROW(nlohmann::json::parse(j.out)) << e.path();
    ++n;
  }
  EXPECT_GE(n, 9u);
  MA_REQUIRE_SHARED(rwkv, "models/tiny-rwkv-7v0-834K-F32.gguf");
  const auto r = run_cli("info -m " + rwkv.string());
  EXPECT_NE(r.out.find("R R R R R R R R R R R R"), std::string::npos) << r.out;
}

TEST(CliInfo, BadInputGivesOneClearError) {
  auto r = run_cli("info -m /nonexistent/model.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf: cannot open"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = run_cli("info -m " + test::source_dir().string() + "/CMakeLists.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a GGUF file"), std::string::npos) << r.err;

  r = run_cli("info -m x.gguf --bogus-flag");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bogus-flag"), std::string::npos) << r.err;

  r = run_cli("no-such-command");
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace ma
