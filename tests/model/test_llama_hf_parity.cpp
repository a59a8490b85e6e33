// Parity with Hugging Face transformers: a tiny random-weight Llama with GQA
// (tools/fixtures/make_llama_gqa_fixture.py), converted by our own converter,
// must give transformers' logits (fp64 reference) within the documented
// tolerance and the same top-1 token at every position, in both the prefill
// and the decode mode.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "convert/converter.h"
#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

struct Fixture {
  std::vector<int32_t> ids;
  std::vector<float> logits;  // [ids x vocab]
};

Fixture read_fixture(const std::filesystem::path& dir) {
  Fixture f;
  std::ifstream ids(dir / "reference_ids.txt");
  int32_t id;
  while (ids >> id) f.ids.push_back(id);
  std::ifstream bin(dir / "reference_logits.f32", std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(bin), std::istreambuf_iterator<char>()};
  f.logits.resize(bytes.size() / 4);
  std::memcpy(f.logits.data(), bytes.data(), f.logits.size() * 4);
  return f;
}

class LlamaHfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaHfParity, LogitsMatchTransformers) {
  const auto dir = test::source_dir() / "tests/fixtures/llama-gqa-tiny-hf";
  const Fixture ref = read_fixture(dir);
  ASSERT_EQ(ref.ids.size(), 24u);
  const auto gguf = std::filesystem::temp_directory_path() /
                    ("ma_parity_" + std::to_string(::getpid()) + "_" + GetParam() + ".gguf");
  convert::ConvertOptions co;
  co.hf_dir = dir.string();
  co.out_path = gguf.string();
  co.type = "f32";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  const auto model = load_model(gguf.string());
  std::filesystem::remove(gguf);
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.kv_type = KvType::kF32;
  Session session(*model, so);
  std::vector<float> got(ref.logits.size());
  if (GetParam() == "prefill") {
    session.prefill_all(ref.ids, got.data());
  } else {
    for (size_t t = 0; t < ref.ids.size(); ++t) {
      const float* l = session.decode(ref.ids[t]);
      std::copy(l, l + V, got.begin() + static_cast<long>(t * V));
    }
  }
  double worst = 0;
  for (size_t t = 0; t < ref.ids.size(); ++t) {
    const float* a = got.data() + t * V;
    const float* b = ref.logits.data() + t * V;
    for (size_t v = 0; v < V; ++v) worst = std::max(worst, std::abs(double(a[v]) - b[v]));
    EXPECT_EQ(std::max_element(a, a + V) - a, std::max_element(b, b + V) - b)
        << "top-1 differs at position " << t;
  }
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Modes, LlamaHfParity, ::testing::Values("prefill", "decode"));

}  // namespace
}  // namespace ma
