// Parity with Hugging Face transformers for Zamba-2: a tiny random-weight
// Zamba2ForCausalLM (tools/fixtures/make_zamba2_fixture.py; six Mamba-2 layers,
// two of them hybrid, one shared transformer block with RoPE and rank-4
// adapters), converted by our own converter, must give transformers' logits
// (fp64 reference) within the documented tolerance and the same top-1 token
// at every position, in the prefill and decode modes; the converted file must
// hold the shared block once and each hybrid layer's adapters and projection.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "convert/hf_model.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "hf_reference.h"
#include "model/arch_registry.h"
#include "model/model_info.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

std::filesystem::path fixture_dir() {
  return test::source_dir() / "tests/fixtures/zamba2-tiny-hf";
}

TEST(Zamba2Convert, WritesSharedBlockOnceAndPerLayerAdapters) {
  const std::string path = test::convert_hf_fixture(fixture_dir(), "zamba2_keys");
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.architecture(), "zamba2");
  EXPECT_EQ(f.get_uint("zamba2.block_count"), 6u);
  EXPECT_EQ(f.get_uint("zamba2.embedding_length"), 64u);
  EXPECT_EQ(f.get_uint("zamba2.attention.head_count"), 4u);
  EXPECT_EQ(f.get_uint("zamba2.attention.key_length"), 32u);  // 2 * 64 / 4
  EXPECT_EQ(f.get_uint("zamba2.rope.dimension_count"), 32u);
  EXPECT_EQ(f.get_uint("zamba2.feed_forward_length"), 96u);
  EXPECT_EQ(f.get_string("zamba2.feed_forward_activation"), "gelu");
  EXPECT_EQ(f.get_uint("zamba2.shared_block_count"), 1u);
  EXPECT_EQ(f.get_uint("zamba2.adapter_rank"), 4u);
  EXPECT_EQ(f.get_uint("zamba2.ssm.inner_size"), 128u);
  EXPECT_EQ(f.get_uint("zamba2.ssm.time_step_rank"), 8u);
  EXPECT_EQ(f.tensor("shared.0.attn_norm.weight").shape, (std::vector<uint64_t>{128}));
  EXPECT_EQ(f.tensor("shared.0.attn_q.weight").shape, (std::vector<uint64_t>{128, 128}));
  EXPECT_EQ(f.tensor("shared.0.attn_output.weight").shape, (std::vector<uint64_t>{128, 64}));
  EXPECT_EQ(f.tensor("shared.0.ffn_gate_up.weight").shape, (std::vector<uint64_t>{64, 192}));
  EXPECT_EQ(f.tensor("shared.0.ffn_down.weight").shape, (std::vector<uint64_t>{96, 64}));
  for (const char* blk : {"blk.1.", "blk.4."}) {
    const std::string p = blk;
    EXPECT_EQ(f.tensor(p + "shared_out.weight").shape, (std::vector<uint64_t>{64, 64}));
    EXPECT_EQ(f.tensor(p + "attn_q_lora_a.weight").shape, (std::vector<uint64_t>{128, 4}));
    EXPECT_EQ(f.tensor(p + "attn_v_lora_b.weight").shape, (std::vector<uint64_t>{4, 128}));
    EXPECT_EQ(f.tensor(p + "ffn_gate_up_lora_b.weight").shape, (std::vector<uint64_t>{4, 192}));
    EXPECT_EQ(f.tensor(p + "ssm_a").shape, (std::vector<uint64_t>{1, 8}));
  }
  EXPECT_EQ(f.find_tensor("blk.0.shared_out.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("shared.1.attn_q.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied head
  // Application 1's q adapter (stored under layer 1's shared block) lands on layer 4.
  const auto& b = f.tensor("blk.4.attn_q_lora_b.weight");
  const convert::HfModel hf = convert::HfModel::open(fixture_dir());
  const convert::StTensor* src =
      hf.find("model.layers.1.shared_transformer.self_attn.linear_q_adapter_list.1.1.weight");
  ASSERT_NE(src, nullptr);
  std::vector<float> row(4);
  src->row_to_f32(7, row.data());
  const float* rows = reinterpret_cast<const float*>(b.data.data());
  for (size_t i = 0; i < row.size(); ++i) ASSERT_EQ(rows[7 * 4 + i], row[i]);

  const ModelInfo info = ModelInfo::from_gguf(f);
  EXPECT_EQ(std::string(info.schedule.begin(), info.schedule.end()), "2A22A2");
}

// The fixture folder with config.json edited by `edit`, in the temp directory.
std::filesystem::path variant(const std::string& tag, void (*edit)(nlohmann::json&)) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ma_zamba2_" + std::to_string(::getpid()) + "_" + tag);
  std::filesystem::create_directories(dir);
  for (const auto& f : std::filesystem::directory_iterator(fixture_dir())) {
    std::filesystem::copy_file(f.path(), dir / f.path().filename(),
                               std::filesystem::copy_options::overwrite_existing);
  }
  nlohmann::json c = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  edit(c);
  std::ofstream(dir / "config.json") << c.dump();
  return dir;
}

// Older transformers write "mamba" layer types and a top-level rope_theta.
TEST(Zamba2Convert, ReadsOlderConfigSpelling) {
  const auto dir = variant("old", [](nlohmann::json& c) {
    for (auto& t : c["layers_block_type"]) {
      if (t != "hybrid") t = "mamba";
    }
    c.erase("rope_parameters");
    c["rope_theta"] = 5000.0;
  });
  const std::string path = test::convert_hf_fixture(dir, "zamba2_old");
  std::filesystem::remove_all(dir);
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.get_float("zamba2.rope.freq_base"), 5000.0);
  EXPECT_NE(f.find_tensor("blk.4.shared_out.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.3.shared_out.weight"), nullptr);
}

TEST(Zamba2Convert, RefusesUnknownLayerType) {
  const auto dir = variant("bad", [](nlohmann::json& c) { c["layers_block_type"][2] = "moe"; });
  try {
    test::convert_hf_fixture(dir, "zamba2_bad");
    ADD_FAILURE() << "an unknown layer type was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers_block_type[2] is 'moe'"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

class Zamba2HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(Zamba2HfParity, LogitsMatchTransformers) {
  const std::string mode = GetParam();
  const test::HfReference ref = test::read_hf_reference(fixture_dir());
  ASSERT_EQ(ref.ids.size(), 24u);
  const std::string path = test::convert_hf_fixture(fixture_dir(), "zamba2_" + mode);
  const auto model = load_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(model->schedule().to_string(), "2 A 2 2 A 2");
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.n_batch = 7;  // prefill crosses batch boundaries: KV rows and states carry over
  so.kv_type = KvType::kF32;
  Session session(*model, so);
  const std::vector<float> got = test::logits_in_mode(session, ref, V, mode);
  const double worst = test::compare_logits(got, ref, V);
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
  std::printf("[ zamba2 %s ] max |logit - transformers| = %.3g\n", mode.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Zamba2Modes, Zamba2HfParity, ::testing::Values("prefill", "decode"));

}  // namespace
}  // namespace ma
