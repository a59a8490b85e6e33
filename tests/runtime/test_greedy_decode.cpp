// Greedy decoding through Session::decode_greedy, which takes the argmax
// where the logits are (on a device: one integer copied out instead of the
// logits), against the host's argmax of the logits decode() returns. Steps
// of both kinds are interleaved in one session, so a device that records
// each kind of step separately must keep the recordings apart.
#include <gtest/gtest.h>

#include <algorithm>

#include "backend/device.h"
#include "model/arch_registry.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

int32_t host_argmax(const float* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

class GreedyDecode : public ::testing::TestWithParam<Device> {};

TEST_P(GreedyDecode, EqualsTheArgmaxOfTheLogits) {
  std::string why;
  if (GetParam() == Device::kCuda && !cuda_available(&why)) {
    GTEST_SKIP() << "CUDA column skipped: " << why;
  }
  const auto model = load_model((test::source_dir() / "models/demo-llama.gguf").string(),
                                {LoadMode::kMmap, GetParam() == Device::kCpu});
  const int64_t V = model->hparams().n_vocab;
  const auto prompt = model->tokenizer().encode("Once upon a time, a little fox", true);
  SessionOptions so;
  so.n_ctx = 128;
  so.device = GetParam();
  Session with_logits(*model, so), mixed(*model, so);
  int32_t want = host_argmax(with_logits.prefill(prompt), V);
  int32_t got = host_argmax(mixed.prefill(prompt), V);
  ASSERT_EQ(got, want);
  for (int step = 0; step < 48; ++step) {
    const int32_t token = want;
    want = host_argmax(with_logits.decode(token), V);
    // Two greedy steps, then one with logits, over and over.
    got = step % 3 == 2 ? host_argmax(mixed.decode(token), V) : mixed.decode_greedy(token);
    ASSERT_EQ(got, want) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, GreedyDecode, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const auto& info) { return std::string(device_name(info.param)); });

}  // namespace
}  // namespace ma
