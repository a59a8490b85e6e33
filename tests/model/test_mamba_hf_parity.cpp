// Parity with Hugging Face transformers for Mamba-1, Falcon-Mamba and Mamba-2:
// tiny random-weight MambaForCausalLM / FalconMambaForCausalLM / Mamba2ForCausalLM models
// (tools/fixtures/make_mamba_fixture.py), converted by our own converter, must
// give transformers' logits (fp64 reference) within the documented tolerance
// and the same top-1 token at every position, in the prefill mode, the decode
// mode and after a session reset.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "convert/converter.h"
#include "gguf/gguf_file.h"
#include "hf_reference.h"
#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

using Reference = test::HfReference;

std::filesystem::path fixture_dir(const std::string& arch = "mamba") {
  return test::source_dir() / "tests/fixtures" / (arch + "-tiny-hf");
}

std::string convert_fixture(const std::string& tag, const std::string& arch = "mamba") {
  return test::convert_hf_fixture(fixture_dir(arch), arch + "_" + tag);
}

TEST(MambaConvert, WritesLlamaCppNamesAndKeys) {
  const std::string path = convert_fixture("keys");
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.architecture(), "mamba");
  EXPECT_EQ(f.get_uint("mamba.ssm.conv_kernel"), 4u);
  EXPECT_EQ(f.get_uint("mamba.ssm.inner_size"), 128u);
  EXPECT_EQ(f.get_uint("mamba.ssm.state_size"), 16u);
  EXPECT_EQ(f.get_uint("mamba.ssm.time_step_rank"), 4u);
  EXPECT_EQ(f.get_uint("mamba.context_length"), 1u << 20);
  EXPECT_FALSE(f.get_bool("mamba.ssm.dt_b_c_rms", true));
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied: the embedding is the head
  const auto& conv = f.tensor("blk.1.ssm_conv1d.weight");
  EXPECT_EQ(conv.shape, (std::vector<uint64_t>{4, 128}));
  const auto& a = f.tensor("blk.2.ssm_a");
  EXPECT_EQ(a.shape, (std::vector<uint64_t>{16, 128}));
  const float* av = reinterpret_cast<const float*>(a.data.data());
  for (size_t i = 0; i < a.n_elements; ++i) ASSERT_LE(av[i], -1.0f) << "A = -exp(A_log)";
  EXPECT_NE(f.find_tensor("blk.0.ssm_d"), nullptr);
  EXPECT_NE(f.find_tensor("blk.0.ssm_dt.bias"), nullptr);
}

TEST(MambaConvert, QuantizedFileKeepsSsmTensorsF32) {
  const auto gguf = std::filesystem::temp_directory_path() /
                    ("ma_mamba_" + std::to_string(::getpid()) + "_q8.gguf");
  convert::ConvertOptions co;
  co.hf_dir = fixture_dir().string();
  co.out_path = gguf.string();
  co.type = "q8_0";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  const gguf::File f = gguf::File::open(gguf.string());
  EXPECT_EQ(f.tensor("blk.0.ssm_a").type, GgmlType::F32);
  EXPECT_EQ(f.tensor("blk.0.ssm_conv1d.weight").type, GgmlType::F32);
  EXPECT_EQ(f.tensor("blk.0.ssm_in.weight").type, GgmlType::Q8_0);
  const auto model = load_model(gguf.string());
  std::filesystem::remove(gguf);
  Session session(*model, SessionOptions{});
  const float* l = session.prefill(std::vector<int32_t>{1, 5, 9});
  EXPECT_TRUE(std::isfinite(l[0]));
}

TEST(MambaConvert, Mamba2WritesLlamaCppNamesAndKeys) {
  const std::string path = convert_fixture("keys2", "mamba2");
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.architecture(), "mamba2");
  EXPECT_EQ(f.get_uint("mamba2.ssm.time_step_rank"), 8u);  // the head count
  EXPECT_EQ(f.get_uint("mamba2.ssm.group_count"), 1u);
  EXPECT_EQ(f.get_uint("mamba2.ssm.inner_size"), 128u);
  EXPECT_EQ(f.tensor("blk.0.ssm_a").shape, (std::vector<uint64_t>{1, 8}));
  EXPECT_EQ(f.tensor("blk.0.ssm_d").shape, (std::vector<uint64_t>{1, 8}));
  EXPECT_EQ(f.tensor("blk.0.ssm_norm.weight").shape, (std::vector<uint64_t>{128, 1}));
  EXPECT_EQ(f.tensor("blk.1.ssm_conv1d.weight").shape, (std::vector<uint64_t>{4, 160}));
  EXPECT_EQ(f.tensor("blk.1.ssm_in.weight").shape, (std::vector<uint64_t>{64, 296}));
  EXPECT_NE(f.find_tensor("blk.1.ssm_dt.bias"), nullptr);
}

// (fixture architecture, mode)
class MambaHfParity : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(MambaHfParity, LogitsMatchTransformers) {
  const auto& [arch, mode] = GetParam();
  const Reference ref = test::read_hf_reference(fixture_dir(arch));
  ASSERT_EQ(ref.ids.size(), 24u);
  const std::string path = convert_fixture(arch + "_" + mode, arch);
  const auto model = load_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(model->schedule().to_string(), arch == "mamba2" ? "2 2" : "M M M");
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.n_batch = 7;  // prefill crosses batch boundaries: the state carries over
  Session session(*model, so);
  std::vector<float> got(ref.logits.size());
  auto decode_all = [&] { test::decode_each(session, ref.ids, V, got.data()); };
  if (mode == "prefill") {
    session.prefill_all(ref.ids, got.data());
  } else if (mode == "decode") {
    decode_all();
  } else {  // "reset": a used session, reset, must start from the zero state
    session.prefill(std::vector<int32_t>{1, 100, 200, 300});
    session.reset();
    decode_all();
  }
  const double worst = test::compare_logits(got, ref, V);
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
  std::printf("[ %s %s ] max |logit - transformers| = %.3g\n", arch.c_str(), mode.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(MambaModes, MambaHfParity,
                         ::testing::Combine(::testing::Values("mamba", "mamba2", "falcon-mamba"),
                                            ::testing::Values("prefill", "decode", "reset")));

}  // namespace
}  // namespace ma
