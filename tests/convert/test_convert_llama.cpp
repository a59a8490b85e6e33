// convert on the shared TinyStories Hugging Face folder: llama.cpp metadata,
// tensor names and shapes, the q/k RoPE permutation, tied embeddings and the
// llama-style vocabulary.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/run_cli.h"
#include "convert/converter.h"
#include "convert/safetensors.h"
#include "gguf/gguf_file.h"
#include "hf_fixture.h"
#include "quant/quantize.h"
#include "test_support.h"

namespace ma::convert {
namespace {

constexpr const char* kHf = "models/tinystories-656k-hf";

gguf::File convert_to(const std::filesystem::path& hf, const std::string& out,
                      const std::string& type) {
  ConvertOptions o;
  o.hf_dir = hf.string();
  o.out_path = out;
  o.type = type;
  o.progress = false;
  convert_hf_to_gguf(o);
  return gguf::File::open(out);
}

std::vector<float> tensor_f32(const gguf::TensorInfo& t) {
  std::vector<float> out(t.n_elements);
  dequantize_row(t.type, t.data.data(), out.data(), static_cast<int64_t>(t.n_elements));
  return out;
}

// numpy: w.reshape(n_head, 2, hd/2, cols).swapaxes(1, 2).reshape(rows, cols).
std::vector<float> permute_like_llama_cpp(const std::vector<float>& w, size_t rows, size_t cols,
                                          size_t n_head) {
  const size_t half = rows / n_head / 2;
  std::vector<float> out(w.size());
  size_t dst = 0;
  for (size_t h = 0; h < n_head; ++h)
    for (size_t i = 0; i < half; ++i)  // axes swapped: i before j
      for (size_t j = 0; j < 2; ++j)
        for (size_t c = 0; c < cols; ++c) out[dst++] = w[((h * 2 + j) * half + i) * cols + c];
  return out;
}

TEST(ConvertLlama, TinyStoriesMetadataAndTensors) {
  MA_REQUIRE_SHARED(hf, kHf);
  test::TempDir tmp;
  const gguf::File f = convert_to(hf, tmp / "ts.gguf", "f32");
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.get_string("general.name"), "tinystories-656k-hf");
  EXPECT_EQ(f.get_uint("general.file_type"), 0u);
  EXPECT_EQ(f.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(f.get_uint("llama.embedding_length"), 128u);
  EXPECT_EQ(f.get_uint("llama.feed_forward_length"), 384u);
  EXPECT_EQ(f.get_uint("llama.context_length"), 512u);
  EXPECT_EQ(f.get_uint("llama.attention.head_count"), 8u);
  EXPECT_EQ(f.get_uint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f.get_uint("llama.rope.dimension_count"), 16u);
  EXPECT_EQ(f.get_uint("llama.vocab_size"), 2048u);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.rope.freq_base")), 10000.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-6f);
  EXPECT_FALSE(f.has("llama.rope.scaling.type"));

  EXPECT_EQ(f.tensors().size(), 20u);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied: token_embd is the LM head
  EXPECT_EQ(f.tensor("token_embd.weight").shape, (std::vector<uint64_t>{128, 2048}));
  EXPECT_EQ(f.tensor("blk.1.attn_k.weight").shape, (std::vector<uint64_t>{128, 64}));
  EXPECT_EQ(f.tensor("blk.0.ffn_down.weight").shape, (std::vector<uint64_t>{384, 128}));
  EXPECT_EQ(f.tensor("output_norm.weight").shape, (std::vector<uint64_t>{128}));
  for (const char* n :
       {"attn_norm", "attn_q", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up"}) {
    EXPECT_NE(f.find_tensor(std::string("blk.1.") + n + ".weight"), nullptr) << n;
  }
  for (const auto& t : f.tensors()) EXPECT_EQ(t.type, GgmlType::F32) << t.name;
}

TEST(ConvertLlama, QkPermutationMatchesLlamaCpp) {
  MA_REQUIRE_SHARED(hf, kHf);
  test::TempDir tmp;
  const gguf::File f = convert_to(hf, tmp / "ts.gguf", "f32");
  const auto st = SafetensorsFile::open((hf / "model.safetensors").string());
  auto source = [&](const std::string& name) {
    const StTensor* t = st.find(name);
    std::vector<float> v(t->n_elements);
    for (uint64_t r = 0; r < t->rows(); ++r) t->row_to_f32(r, v.data() + r * t->cols());
    return v;
  };
  for (int layer = 0; layer < 2; ++layer) {
    const std::string hf_pre = "model.layers." + std::to_string(layer) + ".self_attn.";
    const std::string gg_pre = "blk." + std::to_string(layer) + ".";
    EXPECT_EQ(tensor_f32(f.tensor(gg_pre + "attn_q.weight")),
              permute_like_llama_cpp(source(hf_pre + "q_proj.weight"), 128, 128, 8));
    EXPECT_EQ(tensor_f32(f.tensor(gg_pre + "attn_k.weight")),
              permute_like_llama_cpp(source(hf_pre + "k_proj.weight"), 64, 128, 4));
    EXPECT_NE(tensor_f32(f.tensor(gg_pre + "attn_q.weight")), source(hf_pre + "q_proj.weight"));
    EXPECT_EQ(tensor_f32(f.tensor(gg_pre + "attn_v.weight")), source(hf_pre + "v_proj.weight"));
  }
  EXPECT_EQ(tensor_f32(f.tensor("token_embd.weight")), source("lm_head.weight"));
}

TEST(ConvertLlama, LlamaStyleVocabulary) {
  MA_REQUIRE_SHARED(hf, kHf);
  test::TempDir tmp;
  const gguf::File f = convert_to(hf, tmp / "ts.gguf", "f32");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "default");
  const auto& tokens = f.get("tokenizer.ggml.tokens").as_array("tokens").items;
  const auto& types = f.get("tokenizer.ggml.token_type").as_array("types").items;
  const auto& scores = f.get("tokenizer.ggml.scores").as_array("scores").items;
  ASSERT_EQ(tokens.size(), 2048u);
  ASSERT_EQ(types.size(), 2048u);
  ASSERT_EQ(scores.size(), 2048u);
  EXPECT_EQ(tokens[1].as_string("t"), "<|start_story|>");
  EXPECT_EQ(types[1].as_int("t"), 3);         // control
  EXPECT_EQ(tokens[3].as_string("t"), "\n");  // this vocabulary has no <0xNN> byte tokens
  EXPECT_EQ(types[3].as_int("t"), 1);
  // Scores rank merges: the first merge's token scores highest below zero.
  float best = -1e9f;
  for (const auto& sc : scores) {
    const float v = static_cast<float>(sc.as_double("s"));
    if (v < 0) best = std::max(best, v);
  }
  EXPECT_EQ(best, -1.0f);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.unknown_token_id"), 0u);
  EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_bos_token", false));
  EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_space_prefix", false));
}

TEST(ConvertLlama, QuantizedTypesFollowTheRules) {
  MA_REQUIRE_SHARED(hf, kHf);
  test::TempDir tmp;
  const gguf::File f = convert_to(hf, tmp / "ts.gguf", "q4_0");
  EXPECT_EQ(f.get_uint("general.file_type"), 2u);
  EXPECT_EQ(f.get_uint("general.quantization_version"), 2u);
  EXPECT_EQ(f.tensor("blk.0.attn_q.weight").type, GgmlType::Q4_0);
  EXPECT_EQ(f.tensor("blk.0.attn_norm.weight").type, GgmlType::F32);
  // Tied embedding = LM head; 128 is no multiple of 256, so Q8_0 instead of Q6_K.
  EXPECT_EQ(f.tensor("token_embd.weight").type, GgmlType::Q8_0);
}

TEST(ConvertLlama, CliWritesFileAndReportsErrors) {
  MA_REQUIRE_SHARED(hf, kHf);
  test::TempDir tmp;
  const auto ok =
      test::run_cli("convert " + hf.string() + " -o " + (tmp / "c.gguf") + " --type q8_0");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("[20/20]"), std::string::npos) << ok.err;
  EXPECT_EQ(gguf::File::open(tmp / "c.gguf").tensor("blk.1.ffn_up.weight").type, GgmlType::Q8_0);
  const auto bad_type =
      test::run_cli("convert " + hf.string() + " -o " + (tmp / "d.gguf") + " --type q9");
  EXPECT_EQ(bad_type.exit_code, 1);
  EXPECT_NE(bad_type.err.find("unknown type 'q9'"), std::string::npos) << bad_type.err;
  const auto no_dir = test::run_cli("convert " + (tmp / "nope") + " -o " + (tmp / "e.gguf"));
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_NE(no_dir.err.find("not a directory"), std::string::npos) << no_dir.err;
}

}  // namespace
}  // namespace ma::convert
