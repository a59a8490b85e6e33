// Parity for RWKV-7 converted from the Hugging Face layout
// (flash-linear-attention's RWKV7ForCausalLM): a tiny random-weight model
// (tools/fixtures/make_rwkv7_fixture.py; 2 layers, 2 heads of 32, distinct
// low-rank widths), converted by our own converter, must give the logits of
// our independent PyTorch model's fp64 token-by-token recurrence
// (tools/train/rwkv7_model.py) within the documented tolerance and the same
// top-1 token at every position, in the prefill and decode modes; the file
// must follow llama.cpp's rwkv7 layout (names, shapes, keys, F32 tensors).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "convert/hf_model.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "hf_reference.h"
#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

std::filesystem::path fixture_dir() {
  return test::source_dir() / "tests/fixtures/rwkv7-tiny-hf";
}

using Shape = std::vector<uint64_t>;

// Row r of an HF tensor as floats.
std::vector<float> hf_row(const convert::HfModel& hf, const std::string& name, uint64_t r) {
  const convert::StTensor* t = hf.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr) return {};
  std::vector<float> row(t->cols());
  t->row_to_f32(r, row.data());
  return row;
}

// Row r of an F32 GGUF tensor.
std::vector<float> gguf_row(const gguf::File& f, const std::string& name, uint64_t r) {
  const auto& t = f.tensor(name);
  EXPECT_EQ(t.type, GgmlType::F32) << name;
  const float* p = reinterpret_cast<const float*>(t.data.data()) + r * t.shape[0];
  return {p, p + t.shape[0]};
}

TEST(Rwkv7Convert, WritesLlamaCppLayout) {
  const std::string path = test::convert_hf_fixture(fixture_dir(), "rwkv7_keys");
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.architecture(), "rwkv7");
  EXPECT_EQ(f.get_uint("rwkv7.block_count"), 2u);
  EXPECT_EQ(f.get_uint("rwkv7.embedding_length"), 64u);
  EXPECT_EQ(f.get_uint("rwkv7.feed_forward_length"), 128u);
  EXPECT_EQ(f.get_uint("rwkv7.wkv.head_size"), 32u);
  EXPECT_EQ(f.get_uint("rwkv7.attention.decay_lora_rank"), 16u);
  EXPECT_EQ(f.get_uint("rwkv7.attention.iclr_lora_rank"), 8u);
  EXPECT_EQ(f.get_uint("rwkv7.attention.value_residual_mix_lora_rank"), 12u);
  EXPECT_EQ(f.get_uint("rwkv7.attention.gate_lora_rank"), 24u);
  EXPECT_EQ(f.get_uint("rwkv7.attention.head_count"), 0u);
  EXPECT_EQ(f.get_uint("rwkv7.context_length"), 1048576u);
  EXPECT_FLOAT_EQ(f.get_float("rwkv7.attention.layer_norm_epsilon"), 1e-5f);
  EXPECT_EQ(f.tensor("token_embd_norm.bias").shape, Shape{64});
  EXPECT_EQ(f.tensor("output.weight").shape, (Shape{64, 2048}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_lerp_fused.weight").shape, (Shape{64, 1, 1, 6}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_w1.weight").shape, (Shape{64, 16}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_w2.weight").shape, (Shape{16, 64}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_a1.weight").shape, (Shape{64, 8}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_v2.weight").shape, (Shape{12, 64}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_g1.weight").shape, (Shape{64, 24}));
  EXPECT_EQ(f.tensor("blk.1.time_mix_r_k.weight").shape, Shape{64});
  EXPECT_EQ(f.tensor("blk.1.time_mix_ln.bias").shape, Shape{64});
  EXPECT_EQ(f.tensor("blk.1.channel_mix_lerp_k.weight").shape, Shape{64});
  EXPECT_EQ(f.tensor("blk.1.channel_mix_key.weight").shape, (Shape{64, 128}));
  EXPECT_EQ(f.tensor("blk.1.attn_norm_2.weight").shape, Shape{64});

  const convert::HfModel hf = convert::HfModel::open(fixture_dir());
  // The lerps stack in llama.cpp's order r, w, k, v, a, g.
  const char* lerps = "rwkvag";
  for (uint64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(gguf_row(f, "blk.1.time_mix_lerp_fused.weight", i),
              hf_row(hf, std::string("model.layers.1.attn.x_") + lerps[i], 0))
        << lerps[i];
  }
  // r_k [H, N] flattened; layer 0's v0/v1/v2 are copies of its a0/a1/a2.
  EXPECT_EQ(gguf_row(f, "blk.0.time_mix_r_k.weight", 0)[32 + 5],
            hf_row(hf, "model.layers.0.attn.r_k", 1)[5]);
  EXPECT_EQ(f.tensor("blk.0.time_mix_v1.weight").shape, (Shape{64, 8}));
  EXPECT_EQ(gguf_row(f, "blk.0.time_mix_v1.weight", 3),
            hf_row(hf, "model.layers.0.attn.a_lora.lora.0.weight", 3));
  EXPECT_EQ(gguf_row(f, "blk.0.time_mix_v0.weight", 0),
            hf_row(hf, "model.layers.0.attn.a_lora.lora.2.bias", 0));
}

TEST(Rwkv7Convert, Q8KeepsLlamaCppsF32Tensors) {
  const auto out = std::filesystem::temp_directory_path() /
                   ("ma_rwkv7_q8_" + std::to_string(::getpid()) + ".gguf");
  convert::ConvertOptions co;
  co.hf_dir = fixture_dir().string();
  co.out_path = out.string();
  co.type = "q8_0";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  const gguf::File f = gguf::File::open(out.string());
  std::filesystem::remove(out);
  for (const char* name :
       {"blk.0.time_mix_lerp_fused.weight", "blk.0.time_mix_w1.weight", "blk.0.time_mix_w2.weight",
        "blk.0.time_mix_w0.weight", "blk.0.time_mix_k_k.weight", "blk.0.channel_mix_lerp_k.weight",
        "blk.0.time_mix_ln.weight"}) {
    EXPECT_EQ(f.tensor(name).type, GgmlType::F32) << name;
  }
  for (const char* name : {"blk.0.time_mix_key.weight", "blk.0.time_mix_g1.weight",
                           "blk.1.channel_mix_value.weight", "output.weight"}) {
    EXPECT_EQ(f.tensor(name).type, GgmlType::Q8_0) << name;
  }
}

TEST(Rwkv7Convert, RefusesMixedInAttentionLayers) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("ma_rwkv7_attn_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const auto& f : std::filesystem::directory_iterator(fixture_dir())) {
    std::filesystem::copy_file(f.path(), dir / f.path().filename(),
                               std::filesystem::copy_options::overwrite_existing);
  }
  nlohmann::json c = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  c["attn"] = {{"layers", {1}}, {"num_heads", 2}};
  std::ofstream(dir / "config.json") << c.dump();
  try {
    test::convert_hf_fixture(dir, "rwkv7_attn");
    ADD_FAILURE() << "a hybrid attention config was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"attn\""), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

class Rwkv7HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(Rwkv7HfParity, LogitsMatchFp64Recurrence) {
  const std::string mode = GetParam();
  const test::HfReference ref = test::read_hf_reference(fixture_dir());
  ASSERT_EQ(ref.ids.size(), 24u);
  const std::string path = test::convert_hf_fixture(fixture_dir(), "rwkv7_" + mode);
  const auto model = load_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(model->schedule().to_string(), "R R");
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.n_batch = 17;  // a chunked batch (16 + 1 tokens), then a recurrent one carrying the state
  Session session(*model, so);
  const std::vector<float> got = test::logits_in_mode(session, ref, V, mode);
  const double worst = test::compare_logits(got, ref, V);
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
  std::printf("[ rwkv7 %s ] max |logit - fp64 recurrence| = %.3g\n", mode.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Rwkv7Modes, Rwkv7HfParity, ::testing::Values("prefill", "decode"));

}  // namespace
}  // namespace ma
