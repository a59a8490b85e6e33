// convert on small generated Hugging Face folders: byte-level BPE, shards,
// F16/BF16 sources, untied LM head, rope scaling keys and clear errors.
#include <gtest/gtest.h>

#include <cstdio>

#include "convert/converter.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "hf_fixture.h"
#include "quant/quantize.h"
#include "tokenizer/byte_unicode.h"

namespace ma::convert {
namespace {

using nlohmann::json;
using test::StEntry;

struct Fixture {
  std::string arch = "LlamaForCausalLM";
  std::string dtype = "F16";
  bool sharded = false;
  json rope_scaling = nullptr;
  json extra_config = json::object();
  std::vector<StEntry> extra_tensors;
};

constexpr uint64_t kEmbd = 64, kHeads = 4, kKv = 2, kFf = 96, kVocab = 260;

void write_hf(const test::TempDir& dir, const Fixture& fx) {
  json config = {{"architectures", {fx.arch}},
                 {"hidden_size", kEmbd},
                 {"intermediate_size", kFf},
                 {"num_attention_heads", kHeads},
                 {"num_key_value_heads", kKv},
                 {"num_hidden_layers", 1},
                 {"max_position_embeddings", 1024},
                 {"rms_norm_eps", 1e-5},
                 {"rope_theta", 500000.0},
                 {"vocab_size", kVocab},
                 {"tie_word_embeddings", false},
                 {"rope_scaling", fx.rope_scaling},
                 {"eos_token_id", 259}};
  config.update(fx.extra_config);
  test::write_file(dir.path / "config.json", config.dump());

  std::vector<StEntry> t;
  uint32_t seed = 1;
  auto mat = [&](const std::string& name, uint64_t rows, uint64_t cols) {
    t.push_back({name, fx.dtype, {rows, cols}, test::test_values(rows * cols, seed++)});
  };
  mat("model.embed_tokens.weight", kVocab, kEmbd);
  mat("lm_head.weight", kVocab, kEmbd);
  t.push_back({"model.norm.weight", "F32", {kEmbd}, std::vector<float>(kEmbd, 1.0f)});
  const std::string p = "model.layers.0.";
  t.push_back({p + "input_layernorm.weight", "F32", {kEmbd}, std::vector<float>(kEmbd, 1.0f)});
  t.push_back(
      {p + "post_attention_layernorm.weight", "F32", {kEmbd}, std::vector<float>(kEmbd, 1.0f)});
  mat(p + "self_attn.q_proj.weight", kEmbd, kEmbd);
  mat(p + "self_attn.k_proj.weight", kEmbd / kHeads * kKv, kEmbd);
  mat(p + "self_attn.v_proj.weight", kEmbd / kHeads * kKv, kEmbd);
  mat(p + "self_attn.o_proj.weight", kEmbd, kEmbd);
  mat(p + "mlp.gate_proj.weight", kFf, kEmbd);
  mat(p + "mlp.up_proj.weight", kFf, kEmbd);
  mat(p + "mlp.down_proj.weight", kEmbd, kFf);
  for (const auto& e : fx.extra_tensors) t.push_back(e);
  if (fx.sharded) {
    const size_t half = t.size() / 2;
    const std::vector<StEntry> a(t.begin(), t.begin() + static_cast<long>(half));
    const std::vector<StEntry> b(t.begin() + static_cast<long>(half), t.end());
    test::write_file(dir.path / "model-00001-of-00002.safetensors", test::st_encode(a));
    test::write_file(dir.path / "model-00002-of-00002.safetensors", test::st_encode(b));
    json map = json::object();
    for (const auto& e : a) map[e.name] = "model-00001-of-00002.safetensors";
    for (const auto& e : b) map[e.name] = "model-00002-of-00002.safetensors";
    test::write_file(dir.path / "model.safetensors.index.json", json{{"weight_map", map}}.dump());
  } else {
    test::write_file(dir.path / "model.safetensors", test::st_encode(t));
  }

  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[tok::byte_to_unicode(static_cast<uint8_t>(b))] = b;
  vocab["\xC4\xA0t"] = 256;  // "Ġt"
  vocab["he"] = 257;
  vocab["\xC4\xA0the"] = 258;
  const json tokenizer = {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"\xC4\xA0 t", json::array({"h", "e"}), "\xC4\xA0t he"}}}},
      {"added_tokens", {{{"id", 259}, {"content", "<|eot|>"}, {"special", true}}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}}};
  test::write_file(dir.path / "tokenizer.json", tokenizer.dump());
  test::write_file(dir.path / "tokenizer_config.json",
                   json{{"eos_token", "<|eot|>"}, {"add_bos_token", false}}.dump());
}

gguf::File convert(const test::TempDir& dir, const std::string& type = "f32") {
  ConvertOptions o;
  o.hf_dir = dir.path.string();
  o.out_path = dir / "out.gguf";
  o.type = type;
  o.progress = false;
  convert_hf_to_gguf(o);
  return gguf::File::open(o.out_path);
}

void expect_convert_error(const test::TempDir& dir, const std::string& needle) {
  try {
    convert(dir);
    FAIL() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ConvertFixture, ByteLevelVocabularyAndUntiedHead) {
  test::TempDir dir;
  write_hf(dir, {});
  const gguf::File f = convert(dir);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "gpt-2");
  const auto& tokens = f.get("tokenizer.ggml.tokens").as_array("t").items;
  const auto& merges = f.get("tokenizer.ggml.merges").as_array("m").items;
  const auto& types = f.get("tokenizer.ggml.token_type").as_array("t").items;
  ASSERT_EQ(tokens.size(), kVocab);
  ASSERT_EQ(merges.size(), 3u);
  EXPECT_EQ(merges[1].as_string("m"), "h e");
  EXPECT_EQ(tokens[258].as_string("t"), "\xC4\xA0the");
  EXPECT_EQ(types[259].as_int("t"), 3);
  EXPECT_EQ(types[65].as_int("t"), 1);
  EXPECT_FALSE(f.has("tokenizer.ggml.scores"));
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 259u);
  EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_bos_token", true));
  ASSERT_NE(f.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(f.tensor("output.weight").shape, (std::vector<uint64_t>{kEmbd, kVocab}));
}

TEST(ConvertFixture, ByteFallbackVocabularyMarksByteTokens) {
  test::TempDir dir;
  write_hf(dir, {});
  // 3 specials + 256 byte tokens + U+2581 = the 260 embedding rows.
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  vocab["\xE2\x96\x81"] = 259;
  const json tokenizer = {
      {"model",
       {{"type", "BPE"}, {"byte_fallback", true}, {"vocab", vocab}, {"merges", json::array()}}},
      {"added_tokens", {{{"id", 0}, {"content", "<unk>"}, {"special", true}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers", {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}}}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", json::array()}}}};
  test::write_file(dir.path / "tokenizer.json", tokenizer.dump());
  test::write_file(dir.path / "tokenizer_config.json",
                   json{{"bos_token", "<s>"}, {"eos_token", {{"content", "</s>"}}}}.dump());
  const gguf::File f = convert(dir);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  const auto& types = f.get("tokenizer.ggml.token_type").as_array("t").items;
  EXPECT_EQ(types[0].as_int("t"), 3);
  EXPECT_EQ(types[1].as_int("t"), 3);
  EXPECT_EQ(types[3 + 0x41].as_int("t"), 6);
  EXPECT_EQ(types[259].as_int("t"), 1);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_space_prefix", false));
}

TEST(ConvertFixture, HalfPrecisionSourcesAreExact) {
  for (const char* dtype : {"F16", "BF16"}) {
    test::TempDir dir;
    Fixture fx;
    fx.dtype = dtype;
    write_hf(dir, fx);
    const gguf::File f = convert(dir, dtype);  // same type in and out: a lossless copy
    const auto& t = f.tensor("blk.0.ffn_up.weight");
    EXPECT_EQ(t.type, std::string(dtype) == "F16" ? GgmlType::F16 : GgmlType::BF16);
    std::vector<float> got(t.n_elements);
    dequantize_row(t.type, t.data.data(), got.data(), static_cast<int64_t>(t.n_elements));
    const auto want = test::test_values(kFf * kEmbd, 8);  // the 8th matrix written
    for (size_t i = 0; i < got.size(); ++i) {
      const float w = std::string(dtype) == "F16" ? fp16_to_fp32(fp32_to_fp16(want[i]))
                                                  : bf16_to_fp32(fp32_to_bf16(want[i]));
      ASSERT_EQ(got[i], w) << dtype << " element " << i;
    }
  }
}

TEST(ConvertFixture, ShardedCheckpoint) {
  test::TempDir dir;
  Fixture fx;
  fx.sharded = true;
  write_hf(dir, fx);
  const gguf::File f = convert(dir, "q8_0");
  EXPECT_EQ(f.tensors().size(), 12u);
  EXPECT_EQ(f.tensor("blk.0.attn_q.weight").type, GgmlType::Q8_0);
  // ffn_down rows are 96 long: no multiple of 256, but of 32, so Q8_0 still fits.
  EXPECT_EQ(f.tensor("blk.0.ffn_down.weight").type, GgmlType::Q8_0);
}

TEST(ConvertFixture, KQuantFallsBackForShortRows) {
  test::TempDir dir;
  write_hf(dir, {});
  const gguf::File f = convert(dir, "q4_k_m");
  EXPECT_EQ(f.get_uint("general.file_type"), 15u);
  // Rows of 64 / 96 fit no 256-block: Q4_K -> Q5_0, Q6_K -> Q8_0 (llama.cpp's fallbacks).
  EXPECT_EQ(f.tensor("blk.0.attn_q.weight").type, GgmlType::Q5_0);
  EXPECT_EQ(f.tensor("blk.0.attn_v.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(f.tensor("output.weight").type, GgmlType::Q8_0);
}

TEST(ConvertFixture, RopeScalingKeys) {
  {
    test::TempDir dir;
    Fixture fx;
    fx.rope_scaling = {{"type", "linear"}, {"factor", 4.0}};
    write_hf(dir, fx);
    const gguf::File f = convert(dir);
    EXPECT_EQ(f.get_string("llama.rope.scaling.type"), "linear");
    EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.rope.scaling.factor")), 4.0f);
  }
  {
    test::TempDir dir;
    Fixture fx;
    fx.rope_scaling = {{"rope_type", "yarn"},
                       {"factor", 8.0},
                       {"original_max_position_embeddings", 4096},
                       {"beta_fast", 32.0}};
    write_hf(dir, fx);
    const gguf::File f = convert(dir);
    EXPECT_EQ(f.get_string("llama.rope.scaling.type"), "yarn");
    EXPECT_EQ(f.get_uint("llama.rope.scaling.original_context_length"), 4096u);
    EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.rope.scaling.yarn_beta_fast")), 32.0f);
  }
  {
    test::TempDir dir;
    Fixture fx;
    fx.rope_scaling = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
    write_hf(dir, fx);
    const gguf::File f = convert(dir);
    EXPECT_FALSE(f.has("llama.rope.scaling.type"));
    const auto& t = f.tensor("rope_freqs.weight");
    ASSERT_EQ(t.shape, (std::vector<uint64_t>{8}));
    const float* v = reinterpret_cast<const float*>(t.data.data());
    EXPECT_FLOAT_EQ(v[0], 1.0f);  // highest frequency: unscaled
    EXPECT_FLOAT_EQ(v[7], 8.0f);  // lowest (wavelength past 8192): full factor
  }
}

TEST(ConvertFixture, MistralSlidingWindow) {
  test::TempDir dir;
  Fixture fx;
  fx.arch = "MistralForCausalLM";
  fx.extra_config = {{"sliding_window", 4096}};
  write_hf(dir, fx);
  EXPECT_EQ(convert(dir).get_uint("llama.attention.sliding_window"), 4096u);
}

TEST(ConvertFixture, ClearErrors) {
  {
    test::TempDir dir;
    Fixture fx;
    fx.arch = "NoSuchModelForCausalLM";
    write_hf(dir, fx);
    expect_convert_error(dir, "architecture 'NoSuchModelForCausalLM' is not supported");
  }
  {
    test::TempDir dir;
    Fixture fx;
    fx.extra_tensors = {
        {"model.layers.0.self_attn.q_proj.bias", "F32", {kEmbd}, std::vector<float>(kEmbd, 0.0f)}};
    write_hf(dir, fx);
    expect_convert_error(dir, "'model.layers.0.self_attn.q_proj.bias' has no GGUF name");
  }
  {
    test::TempDir dir;
    write_hf(dir, {});
    std::filesystem::remove(dir.path / "tokenizer.json");
    test::write_file(dir.path / "tokenizer.model", std::string("spm"));
    expect_convert_error(dir, "SentencePiece tokenizer.model");
  }
  {
    test::TempDir dir;
    write_hf(dir, {});
    std::filesystem::remove(dir.path / "model.safetensors");
    expect_convert_error(dir, "no model.safetensors");
  }
  {
    test::TempDir dir;
    Fixture fx;
    fx.rope_scaling = {{"rope_type", "weird"}, {"factor", 2.0}};
    write_hf(dir, fx);
    expect_convert_error(dir, "unsupported rope scaling type 'weird'");
  }
}

}  // namespace
}  // namespace ma::convert
