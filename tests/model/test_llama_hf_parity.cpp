// Parity with Hugging Face transformers: a tiny random-weight Llama with GQA
// (tools/fixtures/make_llama_gqa_fixture.py), converted by our own converter,
// must give transformers' logits (fp64 reference) within the documented
// tolerance and the same top-1 token at every position, in both the prefill
// and the decode mode, on the CPU and on CUDA.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <tuple>

#include "backend/device.h"
#include "convert/converter.h"
#include "hf_reference.h"
#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

// (mode, device): the CUDA column skips, saying why, without a CUDA device.
class LlamaHfParity : public ::testing::TestWithParam<std::tuple<std::string, Device>> {};

TEST_P(LlamaHfParity, LogitsMatchTransformers) {
  const auto [mode, device] = GetParam();
  std::string why;
  if (device == Device::kCuda && !cuda_available(&why)) GTEST_SKIP() << "CUDA: " << why;
  const auto dir = test::source_dir() / "tests/fixtures/llama-gqa-tiny-hf";
  const test::HfReference ref = test::read_hf_reference(dir);
  ASSERT_EQ(ref.ids.size(), 24u);
  const std::string gguf =
      test::convert_hf_fixture(dir, "llama_" + mode + "_" + device_name(device));
  const auto model = load_model(gguf, {LoadMode::kMmap, device == Device::kCpu});
  std::filesystem::remove(gguf);
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.kv_type = KvType::kF32;
  so.device = device;
  Session session(*model, so);
  const std::vector<float> got = test::logits_in_mode(session, ref, V, mode);
  const double worst = test::compare_logits(got, ref, V);
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(ModesAndDevices, LlamaHfParity,
                         ::testing::Combine(::testing::Values("prefill", "decode"),
                                            ::testing::Values(Device::kCpu, Device::kCuda)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" +
                                  device_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace ma
