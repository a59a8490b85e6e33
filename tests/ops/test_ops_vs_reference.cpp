// Every fast CPU op against its fp64 reference, over shapes and weight types,
// within the tolerances of ops/tolerances.h. The portable kernels are checked
// too (MA_CPU_PORTABLE selects them in the engine; here they are called directly).
#include <gtest/gtest.h>

#include "backend/cpu/dot_kernels.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::nmse;
using test::random_floats;
using test::TestWeight;
using test::to_double;

using test::matmul_tolerance;

class OpsMatmul : public ::testing::TestWithParam<GgmlType> {};

TEST_P(OpsMatmul, MatchesReferenceOverShapes) {
  const GgmlType type = GetParam();
  const int64_t block = ggml_type_traits(type).block_size;
  ThreadPool pool(2);
  cpu::MatmulScratch scratch;
  uint32_t seed = 7;
  for (int64_t in : {block == 256 ? int64_t{256} : int64_t{64}, int64_t{512}}) {
    for (int64_t out : {int64_t{1}, int64_t{13}, int64_t{96}}) {
      for (int64_t n_tok : {int64_t{1}, int64_t{3}, int64_t{37}}) {
        const TestWeight tw(type, in, out, seed++);
        const auto x = random_floats(static_cast<size_t>(in * n_tok), seed++);
        std::vector<float> y(static_cast<size_t>(out * n_tok));
        cpu::matmul(pool, tw.w, x.data(), n_tok, y.data(), scratch);
        const auto xd = to_double(x);
        std::vector<double> yr(y.size());
        ref::matmul(tw.w, xd.data(), n_tok, yr.data());
        EXPECT_LT(nmse(y.data(), yr.data(), y.size()), matmul_tolerance(type))
            << ggml_type_name(type) << " in=" << in << " out=" << out << " tokens=" << n_tok;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, OpsMatmul,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16,
                                           GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                           GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K,
                                           GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                           GgmlType::Q6_K),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(OpsDotKernels, PortableAndFastAgree) {
  const auto& portable = cpu::portable_dot_kernels();
  const cpu::DotKernels* fast = cpu::avx2_dot_kernels();
  if (fast == nullptr) GTEST_SKIP() << "no AVX2 on this CPU: only the portable kernels exist";
  const int64_t n = 1024;
  const TestWeight q4(GgmlType::Q4_0, n, 1, 1), q41(GgmlType::Q4_1, n, 1, 2),
      q8(GgmlType::Q8_0, n, 1, 3), f16(GgmlType::F16, n, 1, 4), bf16(GgmlType::BF16, n, 1, 6);
  const TestWeight xq(GgmlType::Q8_0, n, 1, 5);
  const auto x = random_floats(static_cast<size_t>(n), 9);
  auto close = [](float a, float b) { return std::abs(a - b) <= 1e-4f * (1.0f + std::abs(b)); };
  EXPECT_TRUE(close(fast->q4_0(q4.w.data, xq.w.data, n), portable.q4_0(q4.w.data, xq.w.data, n)));
  EXPECT_TRUE(close(fast->q4_1(q41.w.data, xq.w.data, n), portable.q4_1(q41.w.data, xq.w.data, n)));
  EXPECT_TRUE(close(fast->q8_0(q8.w.data, xq.w.data, n), portable.q8_0(q8.w.data, xq.w.data, n)));
  const auto* h = reinterpret_cast<const uint16_t*>(f16.w.data);
  EXPECT_TRUE(close(fast->f16(h, x.data(), n), portable.f16(h, x.data(), n)));
  const auto* b = reinterpret_cast<const uint16_t*>(bf16.w.data);
  EXPECT_TRUE(close(fast->bf16(b, x.data(), n), portable.bf16(b, x.data(), n)));
  const TestWeight q4k(GgmlType::Q4_K, n, 1, 11), q6k(GgmlType::Q6_K, n, 1, 12);
  const TestWeight xk(GgmlType::Q8_K, n, 1, 13);
  EXPECT_TRUE(close(fast->q4_k(q4k.w.data, xk.w.data, n), portable.q4_k(q4k.w.data, xk.w.data, n)));
  EXPECT_TRUE(close(fast->q6_k(q6k.w.data, xk.w.data, n), portable.q6_k(q6k.w.data, xk.w.data, n)));
  // Activation quantization: same scales; quants equal except on exact ties.
  const auto xf = random_floats(static_cast<size_t>(n), 14, 3.0f);
  std::vector<uint8_t> qa(static_cast<size_t>(n / 32 * 34)), qb(qa.size());
  fast->quantize_q8_0(xf.data(), qa.data(), n);
  portable.quantize_q8_0(xf.data(), qb.data(), n);
  for (size_t i = 0; i < qa.size(); ++i) {
    EXPECT_LE(std::abs(int(int8_t(qa[i])) - int(int8_t(qb[i]))), i % 34 < 2 ? 0 : 1) << i;
  }
  // Four-token kernels equal four single dots.
  const TestWeight xs(GgmlType::Q8_0, n, 4, 8);
  const void* rows[4];
  for (int j = 0; j < 4; ++j) rows[j] = xs.w.row(j);
  float out[4];
  fast->q4_0_x4(q4.w.data, rows, n, out);
  for (int j = 0; j < 4; ++j) EXPECT_TRUE(close(out[j], portable.q4_0(q4.w.data, rows[j], n)));
  fast->q8_0_x4(q8.w.data, rows, n, out);
  for (int j = 0; j < 4; ++j) EXPECT_TRUE(close(out[j], portable.q8_0(q8.w.data, rows[j], n)));
}

TEST(OpsRmsNorm, MatchesReference) {
  for (int64_t dim : {8, 64, 333}) {
    const auto x = random_floats(static_cast<size_t>(5 * dim), 11, 3.0f);
    const auto w = random_floats(static_cast<size_t>(dim), 12);
    std::vector<float> y(x.size());
    cpu::rms_norm(x.data(), w.data(), 5, dim, 1e-5f, y.data());
    const auto xd = to_double(x);
    std::vector<double> yr(x.size());
    ref::rms_norm(xd.data(), w.data(), 5, dim, 1e-5, yr.data());
    EXPECT_LT(nmse(y.data(), yr.data(), y.size()), tolerance::kFp32Nmse);
  }
}

TEST(OpsRope, MatchesReferenceForEveryMode) {
  std::vector<float> freq_factors = {1.0f, 1.0f, 2.0f, 4.0f, 8.0f, 8.0f, 8.0f, 8.0f};
  std::vector<RopeParams> variants(5);
  variants[0].mode = RopeMode::kNormal;
  variants[1].mode = RopeMode::kNeox;
  variants[2].freq_scale = 0.25f;      // linear
  variants[3].mode = RopeMode::kNeox;  // YaRN
  variants[3].freq_scale = 0.125f;
  variants[3].ext_factor = 1.0f;
  variants[3].n_ctx_orig = 256;
  variants[4].freq_factors = freq_factors.data();  // llama3
  const int64_t positions[] = {0, 1, 7, 100, 1000, 4095};
  for (auto& p : variants) {
    p.n_dims = 16;
    p.freq_base = 10000.0f;
    const int64_t n_tok = 6, heads = 3, hd = 24;  // partial rotation: 16 of 24 dims
    const auto x = random_floats(static_cast<size_t>(n_tok * heads * hd), 21);
    auto y = x;
    cpu::rope(y.data(), n_tok, heads, hd, positions, p);
    auto yr = to_double(x);
    ref::rope(yr.data(), n_tok, heads, hd, positions, p);
    EXPECT_LT(test::max_abs_diff(y.data(), yr.data(), y.size()), tolerance::kRopeMaxAbs);
  }
}

TEST(OpsActivations, GatedUnitsMatchReference) {
  const auto g = random_floats(1000, 31, 4.0f);
  const auto u = random_floats(1000, 32);
  std::vector<float> y(1000);
  std::vector<double> yr(1000);
  const auto gd = to_double(g), ud = to_double(u);
  cpu::swiglu(g.data(), u.data(), 1000, y.data());
  ref::swiglu(gd.data(), ud.data(), 1000, yr.data());
  EXPECT_LT(nmse(y.data(), yr.data(), 1000), tolerance::kFp32Nmse);
  cpu::geglu(g.data(), u.data(), 1000, y.data());
  ref::geglu(gd.data(), ud.data(), 1000, yr.data());
  EXPECT_LT(nmse(y.data(), yr.data(), 1000), tolerance::kFp32Nmse);
}

TEST(OpsEmbedding, RowsMatchReferenceForQuantizedTables) {
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_K}) {
    const TestWeight table(type, 256, 10, 41);
    const int32_t tokens[] = {3, 0, 9, 3};
    std::vector<float> out(4 * 256);
    cpu::embedding(table.w, tokens, 4, out.data());
    for (int t = 0; t < 4; ++t) {
      const auto row = ref::embedding_row(table.w, tokens[t]);
      EXPECT_EQ(test::max_abs_diff(out.data() + t * 256, row.data(), 256), 0.0);
    }
  }
}

}  // namespace
}  // namespace ma
