// quantize (GGUF -> GGUF) on stories260K and synth's generated models, plus
// the type-choice rules they share.
#include <gtest/gtest.h>

#include <cmath>

#include "cli/run_cli.h"
#include "convert/file_type.h"
#include "convert/requantize.h"
#include "convert/synth.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "hf_fixture.h"
#include "quant/quantize.h"
#include "test_support.h"

namespace ma::convert {
namespace {

std::vector<float> decode(const gguf::TensorInfo& t) {
  std::vector<float> out(t.n_elements);
  dequantize_row(t.type, t.data.data(), out.data(), static_cast<int64_t>(t.n_elements));
  return out;
}

double rms_rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += static_cast<double>(a[i]) * a[i];
  }
  return std::sqrt(num / den);
}

void quantize_to(const std::string& in, const std::string& out, const std::string& type) {
  QuantizeOptions o{in, out, type, false};
  quantize_gguf(o);
}

TEST(QuantizeGguf, Stories260KQ8AndQ4AreClose) {
  MA_REQUIRE_SHARED(src, "models/stories260K.gguf");
  test::TempDir tmp;
  const gguf::File in = gguf::File::open(src.string());
  for (const auto& [type, tol] : {std::pair<std::string, double>{"q8_0", 0.01}, {"q4_0", 0.15}}) {
    quantize_to(src.string(), tmp / (type + ".gguf"), type);
    const gguf::File out = gguf::File::open(tmp / (type + ".gguf"));
    EXPECT_EQ(out.get_uint("general.file_type"), type == "q8_0" ? 7u : 2u);
    EXPECT_EQ(out.tensors().size(), in.tensors().size());
    for (const auto& kv : in.metadata()) {
      if (kv.key == "general.file_type") continue;
      ASSERT_NE(out.find(kv.key), nullptr) << kv.key;
      EXPECT_EQ(*out.find(kv.key), kv.value) << kv.key;
    }
    const auto& q = out.tensor("blk.0.attn_q.weight");
    EXPECT_EQ(q.type, type == "q8_0" ? GgmlType::Q8_0 : GgmlType::Q4_0);
    for (const auto& t : in.tensors()) {
      const auto& o = out.tensor(t.name);
      EXPECT_EQ(o.shape, t.shape) << t.name;
      if (t.shape.size() == 1) {
        EXPECT_EQ(o.type, t.type) << t.name;
      }
      EXPECT_LT(rms_rel_error(decode(t), decode(o)), tol) << t.name << " " << type;
    }
  }
}

TEST(QuantizeGguf, MixAndRefusals) {
  MA_REQUIRE_SHARED(src, "models/stories260K.gguf");
  test::TempDir tmp;
  const auto r = test::run_cli("quantize " + src.string() + " " + (tmp / "m.gguf") + " Q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const gguf::File m = gguf::File::open(tmp / "m.gguf");
  EXPECT_EQ(m.get_uint("general.file_type"), 15u);
  EXPECT_EQ(m.tensor("blk.0.attn_norm.weight").type, GgmlType::F32);
  // 64-wide rows: K-quants fall back to 32-block types; 172 fits neither -> F16.
  EXPECT_EQ(m.tensor("blk.1.attn_q.weight").type, GgmlType::Q5_0);
  EXPECT_EQ(m.tensor("blk.0.ffn_down.weight").type, GgmlType::F16);

  const auto same =
      test::run_cli("quantize " + (tmp / "m.gguf") + " " + (tmp / "m.gguf") + " q8_0");
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_NE(same.err.find("is the input file"), std::string::npos) << same.err;
  const auto bad = test::run_cli("quantize " + src.string() + " " + (tmp / "x.gguf") + " q3_0");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("valid types: f32, f16"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "x.gguf"));
}

TEST(QuantizeRules, LlamaCppStyleMixes) {
  const FileType q4km = parse_file_type("q4_k_m");
  const FileType q4k = parse_file_type("Q4_K");  // alias of Q4_K_M, as in llama-quantize
  EXPECT_EQ(q4k.ftype, q4km.ftype);
  auto type_of = [&](const FileType& ft, const std::string& name, uint64_t row = 4096) {
    return choose_tensor_type(ft, {name, {row, 4096}, 32, 4, false});
  };
  EXPECT_EQ(type_of(q4km, "output.weight"), GgmlType::Q6_K);
  EXPECT_EQ(type_of(q4km, "token_embd.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type_of(q4km, "blk.0.attn_v.weight"), GgmlType::Q6_K);  // first eighth
  EXPECT_EQ(type_of(q4km, "blk.5.attn_v.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type_of(q4km, "blk.6.attn_v.weight"), GgmlType::Q6_K);     // (6 - 4) % 3 == 2
  EXPECT_EQ(type_of(q4km, "blk.31.ffn_down.weight"), GgmlType::Q6_K);  // last eighth
  EXPECT_EQ(type_of(q4km, "blk.10.attn_q.weight"), GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(q4km, {"blk.0.attn_norm.weight", {4096}, 32, 4, false}),
            GgmlType::F32);
  const FileType q3km = parse_file_type("q3_k_m");
  EXPECT_EQ(type_of(q3km, "blk.0.attn_v.weight"), GgmlType::Q5_K);
  EXPECT_EQ(type_of(q3km, "blk.9.attn_output.weight"), GgmlType::Q4_K);
  const FileType q40 = parse_file_type("q4_0");
  EXPECT_EQ(type_of(q40, "output.weight"), GgmlType::Q6_K);  // llama.cpp does this too
  EXPECT_EQ(type_of(q40, "blk.1.ffn_up.weight", 100), GgmlType::F16);
  EXPECT_EQ(type_of(parse_file_type("q6_k"), "blk.1.ffn_up.weight", 96), GgmlType::Q8_0);
  EXPECT_EQ(type_of(parse_file_type("f16"), "output.weight"), GgmlType::F16);
  EXPECT_THROW(parse_file_type("iq2_xs"), Error);
}

TEST(SynthModel, DryRunShowsRealShapes) {
  const auto r = test::run_cli("synth --arch llama --preset 8b --type q4_0 --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line : {"llama.block_count = 32", "llama.attention.head_count_kv = 8",
                           "llama.feed_forward_length = 14336", "llama.vocab_size = 128256",
                           "tensor token_embd.weight Q4_0 4096 x 128256",
                           "tensor blk.31.attn_k.weight Q4_0 4096 x 1024",
                           "tensor blk.0.ffn_down.weight Q4_0 14336 x 4096",
                           "tensor output.weight Q6_K 4096 x 128256"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  const auto one = test::run_cli("synth --preset 1b --type f16 --dry-run");
  EXPECT_NE(one.out.find("tensor blk.15.attn_v.weight F16 2048 x 512"), std::string::npos);
  EXPECT_EQ(one.out.find("tensor output.weight"), std::string::npos);  // tied
  EXPECT_NE(one.out.find("tensor rope_freqs.weight F32 32"), std::string::npos);
  const auto seven = test::run_cli("synth --preset 7b --type q8_0 --layers 2 --dry-run");
  EXPECT_NE(seven.out.find("llama.block_count = 2"), std::string::npos);
  EXPECT_NE(seven.out.find("tensor blk.1.ffn_up.weight Q8_0 4096 x 11008"), std::string::npos);
  const auto bad = test::run_cli("synth --preset 13b --dry-run");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("valid presets: 1b, 7b, 8b"), std::string::npos) << bad.err;
}

TEST(SynthModel, TinyPresetWritesRandomWeights) {
  test::TempDir tmp;
  SynthOptions o;
  o.preset = "tiny";
  o.type = "q4_k_m";
  o.out_path = tmp / "a.gguf";
  o.progress = false;
  synth_model(o);
  o.out_path = tmp / "b.gguf";
  synth_model(o);
  const gguf::File a = gguf::File::open(tmp / "a.gguf");
  const gguf::File b = gguf::File::open(tmp / "b.gguf");
  EXPECT_EQ(a.get_uint("general.file_type"), 15u);
  EXPECT_EQ(a.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(a.get("tokenizer.ggml.tokens").as_array("t").items.size(), 512u);
  EXPECT_EQ(a.get("tokenizer.ggml.merges").as_array("m").items.size(), 254u);
  const auto& q = a.tensor("blk.1.attn_q.weight");
  EXPECT_EQ(q.type, GgmlType::Q4_K);
  EXPECT_EQ(a.tensor("output.weight").type, GgmlType::Q6_K);
  const auto w = decode(q);
  double sum2 = 0;
  for (float x : w) sum2 += x * x;
  EXPECT_NEAR(std::sqrt(sum2 / static_cast<double>(w.size())), 0.02, 0.003);
  const auto norm = decode(a.tensor("output_norm.weight"));
  for (float x : norm) EXPECT_NEAR(x, 1.0f, 0.15f);
  // Same seed, same bytes; another seed, other weights.
  EXPECT_TRUE(
      std::equal(q.data.begin(), q.data.end(), b.tensor("blk.1.attn_q.weight").data.begin()));
  o.seed = 2;
  o.out_path = tmp / "c.gguf";
  synth_model(o);
  const gguf::File c = gguf::File::open(tmp / "c.gguf");
  EXPECT_FALSE(
      std::equal(q.data.begin(), q.data.end(), c.tensor("blk.1.attn_q.weight").data.begin()));
}

TEST(SynthModel, VocabularyFromAnotherModel) {
  MA_REQUIRE_SHARED(src, "models/stories260K.gguf");
  test::TempDir tmp;
  const auto r = test::run_cli("synth --preset tiny --type q8_0 --vocab-from " + src.string() +
                               " -o " + (tmp / "v.gguf") + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const gguf::File in = gguf::File::open(src.string());
  const gguf::File out = gguf::File::open(tmp / "v.gguf");
  for (const auto& kv : in.metadata()) {
    if (kv.key.starts_with("tokenizer.")) {
      EXPECT_EQ(*out.find(kv.key), kv.value) << kv.key;
    }
  }
  EXPECT_EQ(out.tensor("token_embd.weight").shape[1], 512u);
}

}  // namespace
}  // namespace ma::convert
