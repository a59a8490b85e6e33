// Parity with Hugging Face transformers for Jamba: a tiny random-weight
// JambaForCausalLM (tools/fixtures/make_jamba_fixture.py; schedule M M A M,
// mixture-of-experts FFNs on layers 0 and 2, GQA attention without RoPE),
// converted by our own converter, must give transformers' logits (fp64
// reference) within the documented tolerance and the same top-1 token at every
// position, in the prefill and decode modes; the converted file must carry
// llama.cpp's names, keys and stacked expert tensors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "convert/hf_model.h"
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
  return test::source_dir() / "tests/fixtures/jamba-tiny-hf";
}

TEST(JambaConvert, WritesLlamaCppNamesKeysAndStackedExperts) {
  const std::string path = test::convert_hf_fixture(fixture_dir(), "jamba_keys");
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.architecture(), "jamba");
  const auto& kv = f.find("jamba.attention.head_count_kv")->as_array("kv").items;
  ASSERT_EQ(kv.size(), 4u);
  EXPECT_EQ(kv[0].as_uint("kv"), 0u);  // Mamba
  EXPECT_EQ(kv[2].as_uint("kv"), 2u);  // attention, 2 KV heads
  EXPECT_EQ(f.get_uint("jamba.expert_count"), 4u);
  EXPECT_EQ(f.get_uint("jamba.expert_used_count"), 2u);
  EXPECT_EQ(f.get_uint("jamba.ssm.inner_size"), 128u);
  EXPECT_EQ(f.get_uint("jamba.ssm.time_step_rank"), 4u);
  EXPECT_EQ(f.tensor("blk.0.ffn_gate_exps.weight").shape, (std::vector<uint64_t>{64, 96, 4}));
  EXPECT_EQ(f.tensor("blk.2.ffn_down_exps.weight").shape, (std::vector<uint64_t>{96, 64, 4}));
  EXPECT_EQ(f.tensor("blk.0.ffn_gate_inp.weight").shape, (std::vector<uint64_t>{64, 4}));
  EXPECT_EQ(f.tensor("blk.1.ffn_up.weight").shape, (std::vector<uint64_t>{64, 96}));
  EXPECT_EQ(f.tensor("blk.3.ssm_dt_norm.weight").shape, (std::vector<uint64_t>{4}));
  EXPECT_EQ(f.tensor("blk.2.attn_k.weight").shape, (std::vector<uint64_t>{64, 32}));
  EXPECT_EQ(f.find_tensor("blk.2.ssm_in.weight"), nullptr);
  EXPECT_NE(f.find_tensor("output.weight"), nullptr);  // untied head
  // Expert 2 of layer 0 sits at rows [2 * 96, 3 * 96) of the stack.
  const auto& stack = f.tensor("blk.0.ffn_up_exps.weight");
  const float* rows = reinterpret_cast<const float*>(stack.data.data());
  const convert::HfModel hf = convert::HfModel::open(fixture_dir());
  const convert::StTensor* e2 = hf.find("model.layers.0.feed_forward.experts.2.up_proj.weight");
  ASSERT_NE(e2, nullptr);
  std::vector<float> row(64);
  e2->row_to_f32(5, row.data());
  for (size_t i = 0; i < row.size(); ++i) ASSERT_EQ(rows[(2 * 96 + 5) * 64 + i], row[i]);

  const ModelInfo info = ModelInfo::from_gguf(f);
  EXPECT_EQ(std::string(info.schedule.begin(), info.schedule.end()), "MMAM");
}

TEST(JambaConvert, QuantizedFileKeepsRouterAndSsmF32) {
  const auto gguf = std::filesystem::temp_directory_path() /
                    ("ma_jamba_" + std::to_string(::getpid()) + "_q8.gguf");
  convert::ConvertOptions co;
  co.hf_dir = fixture_dir().string();
  co.out_path = gguf.string();
  co.type = "q8_0";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  const gguf::File f = gguf::File::open(gguf.string());
  EXPECT_EQ(f.tensor("blk.0.ffn_gate_inp.weight").type, GgmlType::F32);
  EXPECT_EQ(f.tensor("blk.0.ssm_a").type, GgmlType::F32);
  EXPECT_EQ(f.tensor("blk.0.ffn_gate_exps.weight").type, GgmlType::Q8_0);
  const auto model = load_model(gguf.string());
  std::filesystem::remove(gguf);
  Session session(*model, SessionOptions{});
  const float* l = session.prefill(std::vector<int32_t>{1, 5, 9});
  EXPECT_TRUE(std::isfinite(l[0]));
}

class JambaHfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(JambaHfParity, LogitsMatchTransformers) {
  const std::string mode = GetParam();
  const test::HfReference ref = test::read_hf_reference(fixture_dir());
  ASSERT_EQ(ref.ids.size(), 24u);
  const std::string path = test::convert_hf_fixture(fixture_dir(), "jamba_" + mode);
  const auto model = load_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(model->schedule().to_string(), "M M A M");
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.n_batch = 7;             // prefill crosses batch boundaries: KV rows and states carry over
  so.kv_type = KvType::kF32;  // an F16 cache alone moves the logits by ~5e-3
  Session session(*model, so);
  const std::vector<float> got = test::logits_in_mode(session, ref, V, mode);
  const double worst = test::compare_logits(got, ref, V);
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
  std::printf("[ jamba %s ] max |logit - transformers| = %.3g\n", mode.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(JambaModes, JambaHfParity, ::testing::Values("prefill", "decode"));

}  // namespace
}  // namespace ma
