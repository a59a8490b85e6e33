// Whole models on the CUDA backend (the GQA Llama fixture against
// transformers is the CUDA column of test_llama_hf_parity): the demo Llama's
// perplexity against llama.cpp's and its logits against the CPU's. Skipped, and said so, where
// no CUDA device is present; the refusal of models without CUDA kernels is
// checked everywhere.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "backend/device.h"
#include "core/error.h"
#include "hf_reference.h"
#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/perplexity.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

#define MA_REQUIRE_CUDA()                                       \
  do {                                                          \
    std::string why;                                            \
    if (!cuda_available(&why)) GTEST_SKIP() << "CUDA: " << why; \
  } while (0)

std::string demo_llama() {
  return (test::source_dir() / "models/demo-llama.gguf").string();
}

TEST(CudaDemoLlama, PerplexityMatchesLlamaCpp) {
  MA_REQUIRE_CUDA();
  const auto model = load_model(demo_llama(), {LoadMode::kMmap, false});
  std::ifstream ref(test::source_dir() / "tests/fixtures/corpus/demo-llama-perplexity-c256.txt");
  double want = 0;
  ref >> want;
  ASSERT_GT(want, 1.0);
  SessionOptions so;
  so.n_ctx = 256;
  so.device = Device::kCuda;
  Session session(*model, so);
  std::ifstream in(test::source_dir() / "tests/fixtures/corpus/heldout.txt", std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto r = perplexity(session, model->tokenizer().encode(text, true), 256);
  RecordProperty("ppl", std::to_string(r.ppl));
  EXPECT_NEAR(r.ppl, want, 0.005 * want);
}

// Same weights (F16), same prompt: prefill and decode on the GPU against the
// CPU. The GPU rounds prefill activations to fp16 for the tensor cores, so
// the bound is looser than the fp32 paths'; top-1 must agree wherever the
// CPU's choice is not a near-tie.
TEST(CudaDemoLlama, LogitsMatchCpu) {
  MA_REQUIRE_CUDA();
  const auto cpu_model = load_model(demo_llama());
  const auto gpu_model = load_model(demo_llama(), {LoadMode::kMmap, false});
  const auto ids = cpu_model->tokenizer().encode(
      "Once upon a time, a little fox named Pip lived in a forest. One day, Pip found a", true);
  const size_t V = static_cast<size_t>(cpu_model->hparams().n_vocab);
  SessionOptions so;
  so.n_ctx = 128;
  Session cpu(*cpu_model, so);
  std::vector<float> want(ids.size() * V);
  cpu.prefill_all(ids, want.data());
  so.device = Device::kCuda;
  for (const bool prefill : {true, false}) {
    Session gpu(*gpu_model, so);
    std::vector<float> got(want.size());
    if (prefill) {
      gpu.prefill_all(ids, got.data());
    } else {
      test::decode_each(gpu, ids, V, got.data());
    }
    double worst = 0;
    for (size_t t = 0; t < ids.size(); ++t) {
      const float* a = got.data() + t * V;
      const float* b = want.data() + t * V;
      for (size_t v = 0; v < V; ++v) worst = std::max(worst, std::abs(double(a[v]) - b[v]));
      std::vector<float> sorted(b, b + V);
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
      if (sorted[0] - sorted[1] > 0.1f) {
        EXPECT_EQ(std::max_element(a, a + V) - a, std::max_element(b, b + V) - b)
            << (prefill ? "prefill" : "decode") << ": top-1 differs at position " << t;
      }
    }
    EXPECT_LT(worst, 5e-2) << (prefill ? "prefill" : "decode");
    RecordProperty(prefill ? "prefill_max_abs_diff" : "decode_max_abs_diff", std::to_string(worst));
  }
}

// Decode steps are recorded once as a CUDA graph and replayed; the replays
// must give exactly what running every step eagerly gives, across KV pages.
TEST(CudaDemoLlama, RecordedDecodeEqualsEager) {
  MA_REQUIRE_CUDA();
  const auto model = load_model(demo_llama(), {LoadMode::kMmap, false});
  const auto ids = model->tokenizer().encode(
      "Once upon a time, a little fox named Pip lived in a forest. One day, Pip found a shiny "
      "stone near the river. He picked it up and ran home to show his mother.",
      true);
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  SessionOptions so;
  so.n_ctx = 128;
  so.device = Device::kCuda;
  std::vector<float> runs[2];
  for (const char* graphs : {"0", "1"}) {
    ::setenv("MA_CUDA_GRAPHS", graphs, 1);
    Session session(*model, so);
    auto& out = runs[graphs[0] - '0'];
    out.resize(ids.size() * V);
    test::decode_each(session, ids, V, out.data());
  }
  ::unsetenv("MA_CUDA_GRAPHS");
  ASSERT_GT(ids.size(), 32u);  // several KV pages of 16
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(CudaSession, RefusesModelsWithoutCudaKernels) {
  const auto model = load_model((test::source_dir() / "models/demo-mamba.gguf").string());
  SessionOptions so;
  so.device = Device::kCuda;
  try {
    Session session(*model, so);
    FAIL() << "a Mamba model ran on CUDA";
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (cuda_available()) {
      EXPECT_NE(msg.find("has no cuda kernels"), std::string::npos) << msg;
    } else {
      EXPECT_NE(msg.find("--device cuda"), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace ma
