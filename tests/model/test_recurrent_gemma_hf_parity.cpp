// RecurrentGemma (Griffin): our converter's GGUF layout on the tiny
// random-weight RecurrentGemmaForCausalLM fixture
// (tools/fixtures/make_recurrent_gemma_fixture.py), and parity with
// transformers: the converted model must give transformers' logits (fp64
// reference) within the documented tolerance and the same top-1 token at every
// position, in the prefill mode, the decode mode and after a session reset.
// The 24 ids span three attention windows of 8, so the window matters.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "../convert/hf_fixture.h"
#include "convert/converter.h"
#include "convert/safetensors.h"
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

const std::filesystem::path kFixture = "tests/fixtures/recurrent-gemma-tiny-hf";

std::filesystem::path fixture_dir() {
  return test::source_dir() / kFixture;
}

// Fixtures are committed: a missing one fails under CI=true and skips locally.
#define REQUIRE_RG_FIXTURE()                                                                       \
  if (!std::filesystem::exists(fixture_dir() / "reference_logits.f32")) {                          \
    const std::string msg = "fixture missing: " + fixture_dir().string() +                         \
                            " (make it with python3 "                                              \
                            "tools/fixtures/make_recurrent_gemma_fixture.py, needs transformers)"; \
    if (test::running_in_ci()) FAIL() << msg;                                                      \
    GTEST_SKIP() << msg;                                                                           \
  }

std::vector<float> tensor_floats(const gguf::File& f, const std::string& name) {
  const auto& t = f.tensor(name);
  EXPECT_EQ(t.type, GgmlType::F32) << name;
  const float* p = reinterpret_cast<const float*>(t.data.data());
  return {p, p + t.n_elements};
}

std::vector<float> hf_floats(const convert::SafetensorsFile& st, const std::string& name) {
  const convert::StTensor* t = st.find(name);
  if (t == nullptr) throw Error("fixture has no tensor " + name);
  std::vector<float> out(t->n_elements);
  for (uint64_t r = 0; r < t->rows(); ++r) t->row_to_f32(r, out.data() + r * t->cols());
  return out;
}

TEST(RecurrentGemmaConvert, WritesOurLayout) {
  REQUIRE_RG_FIXTURE();
  const std::string path = test::convert_hf_fixture(fixture_dir(), "rg_layout");
  const gguf::File f = gguf::File::open(path);
  std::filesystem::remove(path);
  const std::string a = "recurrentgemma.";
  EXPECT_EQ(f.architecture(), "recurrentgemma");
  EXPECT_EQ(f.get_uint(a + "block_count"), 6u);
  EXPECT_EQ(f.get_uint(a + "embedding_length"), 96u);
  EXPECT_EQ(f.get_uint(a + "feed_forward_length"), 160u);  // intermediate_size / 2
  EXPECT_EQ(f.get_uint(a + "attention.head_count"), 4u);
  EXPECT_EQ(f.get_uint(a + "attention.head_count_kv"), 1u);
  EXPECT_EQ(f.get_uint(a + "attention.key_length"), 24u);
  EXPECT_EQ(f.get_uint(a + "attention.sliding_window"), 8u);
  EXPECT_EQ(f.get_uint(a + "rope.dimension_count"), 12u);  // half of each head
  EXPECT_EQ(f.get_uint(a + "rglru.width"), 96u);
  EXPECT_EQ(f.get_uint(a + "rglru.head_count"), 4u);
  EXPECT_EQ(f.get_uint(a + "rglru.conv_kernel"), 4u);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float(a + "final_logit_softcapping")), 10.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float(a + "rope.freq_base")), 10000.0f);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_space_prefix", true));  // Gemma: no prefix space
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 2u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 1u);

  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied: the embedding is the head
  EXPECT_EQ(ModelInfo::from_gguf(f).schedule, (std::vector<char>{'G', 'G', 'A', 'G', 'G', 'A'}));
  EXPECT_EQ(f.tensor("blk.0.rglru_conv1d.weight").shape, (std::vector<uint64_t>{4, 96}));
  EXPECT_EQ(f.tensor("blk.1.rglru_gate_x.weight").shape, (std::vector<uint64_t>{24, 24, 4}));
  EXPECT_EQ(f.tensor("blk.1.rglru_gate_a.bias").shape, (std::vector<uint64_t>{96}));
  EXPECT_EQ(f.tensor("blk.3.rglru_x.weight").shape, (std::vector<uint64_t>{96, 96}));
  EXPECT_EQ(f.tensor("blk.3.rglru_y.bias").shape, (std::vector<uint64_t>{96}));
  EXPECT_EQ(f.tensor("blk.2.attn_k.weight").shape, (std::vector<uint64_t>{96, 24}));
  EXPECT_EQ(f.tensor("blk.5.attn_output.bias").shape, (std::vector<uint64_t>{96}));
  EXPECT_EQ(f.tensor("blk.5.ffn_down.weight").shape, (std::vector<uint64_t>{160, 96}));
  EXPECT_EQ(f.find_tensor("blk.2.rglru_a.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight"), nullptr);

  // Values: norms hold 1 + w; the gate blocks are transposed to {in, out}.
  const auto st = convert::SafetensorsFile::open((fixture_dir() / "model.safetensors").string());
  const auto norm = tensor_floats(f, "blk.4.ffn_norm.weight");
  const auto hf_norm = hf_floats(st, "model.layers.4.channel_pre_norm.weight");
  for (size_t i = 0; i < norm.size(); ++i) EXPECT_FLOAT_EQ(norm[i], hf_norm[i] + 1.0f);
  const auto final_norm = tensor_floats(f, "output_norm.weight");
  EXPECT_FLOAT_EQ(final_norm[5], hf_floats(st, "model.final_norm.weight")[5] + 1.0f);
  const auto gate = tensor_floats(f, "blk.3.rglru_gate_a.weight");
  const auto hf_gate = hf_floats(st, "model.layers.3.temporal_block.rg_lru.recurrent_gate_weight");
  for (size_t h = 0; h < 4; ++h) {
    for (size_t j = 0; j < 24; ++j) {
      for (size_t i = 0; i < 24; ++i) {
        ASSERT_EQ(gate[(h * 24 + j) * 24 + i], hf_gate[(h * 24 + i) * 24 + j]);
      }
    }
  }
  EXPECT_EQ(tensor_floats(f, "blk.0.rglru_a.weight"),
            hf_floats(st, "model.layers.0.temporal_block.rg_lru.recurrent_param"));
}

TEST(RecurrentGemmaConvert, QuantizedFileKeepsRgLruTensorsF32) {
  REQUIRE_RG_FIXTURE();
  const auto gguf =
      std::filesystem::temp_directory_path() / ("ma_rg_" + std::to_string(::getpid()) + "_q8.gguf");
  convert::ConvertOptions co;
  co.hf_dir = fixture_dir().string();
  co.out_path = gguf.string();
  co.type = "q8_0";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  const auto model = load_model(gguf.string());
  const gguf::File& f = model->file();
  for (const char* n : {"rglru_a.weight", "rglru_conv1d.weight", "rglru_gate_x.weight",
                        "rglru_gate_a.weight", "rglru_gate_x.bias"}) {
    EXPECT_EQ(f.tensor(std::string("blk.0.") + n).type, GgmlType::F32) << n;
  }
  EXPECT_EQ(f.tensor("blk.0.rglru_x.weight").type, GgmlType::Q8_0);
  Session session(*model, SessionOptions{});
  const float* l = session.prefill(std::vector<int32_t>{2, 5, 9});
  EXPECT_TRUE(std::isfinite(l[0]));
  std::filesystem::remove(gguf);
}

// A config the engine cannot run is refused by name before any tensor is read.
TEST(RecurrentGemmaConvert, RefusesUnsupportedConfigs) {
  const std::pair<const char*, const char*> cases[] = {
      {R"("attention_bias": true)", "attention_bias"},
      {R"("hidden_activation": "relu")", "hidden_activation"},
      {R"("block_types": ["recurrent", "mlp"])", "block_types"},
  };
  for (const auto& [extra, what] : cases) {
    test::TempDir dir;
    test::write_file(dir.path / "config.json",
                     std::string(R"({"architectures": ["RecurrentGemmaForCausalLM"], )") +
                         R"("hidden_size": 8, "num_attention_heads": 2, )" +
                         R"("num_hidden_layers": 1, "intermediate_size": 16, )" + extra + "}");
    test::write_file(
        dir.path / "model.safetensors",
        test::st_encode({{"model.embed_tokens.weight", "F32", {4, 8}, test::test_values(32, 1)}}));
    convert::ConvertOptions co;
    co.hf_dir = dir.path.string();
    co.out_path = dir / "out.gguf";
    co.progress = false;
    try {
      convert::convert_hf_to_gguf(co);
      ADD_FAILURE() << "accepted " << extra;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
}

class RecurrentGemmaHfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(RecurrentGemmaHfParity, LogitsMatchTransformers) {
  REQUIRE_RG_FIXTURE();
  const std::string mode = GetParam();
  const test::HfReference ref = test::read_hf_reference(fixture_dir());
  ASSERT_EQ(ref.ids.size(), 24u);
  const std::string path = test::convert_hf_fixture(fixture_dir(), "rg_" + mode);
  const auto model = load_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(model->schedule().to_string(), "G G A G G A");
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  ASSERT_EQ(ref.logits.size(), ref.ids.size() * V);

  SessionOptions so;
  so.n_ctx = 32;
  so.kv_type = KvType::kF32;  // an F16 cache alone moves the logits by ~3e-3
  so.n_batch = 7;             // prefill crosses batch boundaries: state and KV cache carry over
  Session session(*model, so);
  std::vector<float> got(ref.logits.size());
  auto decode_all = [&] { test::decode_each(session, ref.ids, V, got.data()); };
  if (mode == "prefill") {
    session.prefill_all(ref.ids, got.data());
  } else if (mode == "decode") {
    decode_all();
  } else {  // "reset": a used session, reset, must start from the empty state
    session.prefill(std::vector<int32_t>{2, 100, 200, 300, 400, 500, 600, 700, 800, 900});
    session.reset();
    decode_all();
  }
  const double worst = test::compare_logits(got, ref, V);
  EXPECT_LT(worst, tolerance::kModelLogitsMaxAbs);
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
  std::printf("[ recurrentgemma %s ] max |logit - transformers| = %.3g\n", mode.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Modes, RecurrentGemmaHfParity,
                         ::testing::Values("prefill", "decode", "reset"));

}  // namespace
}  // namespace ma
