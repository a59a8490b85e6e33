// The real GGUF files in ../shared parse with the values their sources state.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "gguf/gguf_file.h"
#include "test_support.h"

namespace ma {
namespace {

TEST(GgufRealFiles, Stories260KHyperparameters) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto f = gguf::File::open(path.string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.get_uint("llama.block_count"), 5u);
  EXPECT_EQ(f.get_uint("llama.embedding_length"), 64u);
  EXPECT_EQ(f.get_uint("llama.attention.head_count"), 8u);
  EXPECT_EQ(f.get_uint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f.get_uint("llama.feed_forward_length"), 172u);
  EXPECT_EQ(f.get_uint("llama.context_length"), 2048u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  const auto& tokens = f.get("tokenizer.ggml.tokens").as_array("tokens");
  EXPECT_EQ(tokens.elem_type, gguf::ValueType::STRING);
  EXPECT_EQ(tokens.items.size(), 512u);
  EXPECT_EQ(tokens.items[1].as_string("bos"), "<s>");
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 2u);

  // 5 layers x 9 tensors + token_embd, output_norm, output = 48, all F32.
  EXPECT_EQ(f.tensors().size(), 48u);
  for (const auto& t : f.tensors()) EXPECT_EQ(t.type, GgmlType::F32) << t.name;
  const auto& emb = f.tensor("token_embd.weight");
  ASSERT_EQ(emb.shape.size(), 2u);
  EXPECT_EQ(emb.shape[0], 64u);
  EXPECT_EQ(emb.shape[1], 512u);
  EXPECT_EQ(emb.n_bytes, 64u * 512u * 4u);
  const auto& wk = f.tensor("blk.0.attn_k.weight");
  EXPECT_EQ(wk.shape, (std::vector<uint64_t>{64, 32}));  // 4 KV heads x head dim 8
  const auto& up = f.tensor("blk.4.ffn_up.weight");
  EXPECT_EQ(up.shape, (std::vector<uint64_t>{64, 172}));
  // Views point inside the file and hold real (non-zero) weights.
  float first = 0;
  std::memcpy(&first, emb.data.data(), 4);
  EXPECT_NE(first, 0.0f);
  EXPECT_EQ(emb.data.data() - f.tensors()[0].data.data() + f.tensors()[0].offset, emb.offset);
}

TEST(GgufRealFiles, RwkvAndTinyLlamaParse) {
  MA_REQUIRE_SHARED(rwkv, "models/tiny-rwkv-7v0-834K-F16.gguf");
  const auto r = gguf::File::open(rwkv.string());
  EXPECT_EQ(r.architecture(), "rwkv7");
  EXPECT_EQ(r.get_uint("rwkv7.block_count"), 12u);
  EXPECT_EQ(r.get_uint("rwkv7.embedding_length"), 64u);
  EXPECT_EQ(r.get_string("tokenizer.ggml.model"), "rwkv");

  MA_REQUIRE_SHARED(tiny, "models/llama-2-tiny-random.gguf");
  const auto t = gguf::File::open(tiny.string());
  EXPECT_EQ(t.architecture(), "llama");
  EXPECT_EQ(t.get("tokenizer.ggml.tokens").as_array("tokens").items.size(), 32000u);
  size_t f16 = 0, f32 = 0;
  for (const auto& ti : t.tensors()) {
    f16 += ti.type == GgmlType::F16;
    f32 += ti.type == GgmlType::F32;
  }
  EXPECT_EQ(f16, 9u);
  EXPECT_EQ(f32, 3u);
}

TEST(GgufRealFiles, EveryGgufInSharedParses) {
  MA_REQUIRE_SHARED(root, "");
  size_t count = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".gguf") continue;
    EXPECT_NO_THROW(gguf::File::open(e.path().string())) << e.path();
    ++count;
  }
  EXPECT_GE(count, 9u);
}

}  // namespace
}  // namespace ma
