// quantize_row -> dequantize_row on N(0,1) data: the RMS error of every
// format stays under the bound documented in docs/quant-formats.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/quantize.h"

namespace ma {
namespace {

constexpr int64_t kN = 256 * 64;  // a whole number of blocks for every format

std::vector<float> normal_data(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(kN);
  for (auto& v : x) v = dist(rng);
  return x;
}

std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(ggml_row_size(type, x.size()));
  quantize_row(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

double roundtrip_rms(GgmlType type, const std::vector<float>& x) {
  const auto q = quantize(type, x);
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), static_cast<int64_t>(x.size()));
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = static_cast<double>(x[i]) - y[i];
    sum += e * e;
  }
  return std::sqrt(sum / static_cast<double>(x.size()));
}

struct Bound {
  GgmlType type;
  double rms;  // keep in step with docs/quant-formats.md
};

class QuantRoundTrip : public ::testing::TestWithParam<Bound> {};

TEST_P(QuantRoundTrip, RmsErrorUnderBound) {
  const Bound b = GetParam();
  ASSERT_TRUE(can_quantize(b.type));
  for (uint32_t seed : {1u, 2u, 3u}) {
    const double rms = roundtrip_rms(b.type, normal_data(seed));
    EXPECT_LT(rms, b.rms) << ggml_type_name(b.type) << " seed " << seed;
    EXPECT_GT(rms, 0.0) << "lossless round trip is suspicious";
    RecordProperty("rms_seed" + std::to_string(seed), std::to_string(rms));
  }
}

INSTANTIATE_TEST_SUITE_P(
    QuantFormats, QuantRoundTrip,
    ::testing::Values(Bound{GgmlType::F16, 0.00025}, Bound{GgmlType::BF16, 0.0019},
                      Bound{GgmlType::Q8_0, 0.0060}, Bound{GgmlType::Q4_0, 0.095},
                      Bound{GgmlType::Q4_1, 0.085}, Bound{GgmlType::Q5_0, 0.047},
                      Bound{GgmlType::Q5_1, 0.042}, Bound{GgmlType::Q2_K, 0.29},
                      Bound{GgmlType::Q3_K, 0.155}, Bound{GgmlType::Q4_K, 0.078},
                      Bound{GgmlType::Q5_K, 0.039}, Bound{GgmlType::Q6_K, 0.019},
                      Bound{GgmlType::Q8_K, 0.0078}),
    [](const ::testing::TestParamInfo<Bound>& info) {
      return std::string(ggml_type_name(info.param.type));
    });

TEST(QuantRoundTripExact, F32AndF64AreLossless) {
  const auto x = normal_data(4);
  EXPECT_EQ(roundtrip_rms(GgmlType::F32, x), 0.0);
  EXPECT_EQ(roundtrip_rms(GgmlType::F64, x), 0.0);
}

TEST(QuantRoundTripExact, QuantizeIsDeterministic) {
  const auto x = normal_data(5);
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    EXPECT_EQ(quantize(t, x), quantize(t, x)) << ggml_type_name(t);
  }
}

// Values already on a Q8_0 grid come back exactly, and re-quantizing the
// decoded row reproduces the same bytes.
TEST(QuantRoundTripExact, Q8_0IsIdempotent) {
  const auto x = normal_data(6);
  const auto q1 = quantize(GgmlType::Q8_0, x);
  std::vector<float> y(x.size());
  dequantize_row(GgmlType::Q8_0, q1.data(), y.data(), kN);
  EXPECT_EQ(quantize(GgmlType::Q8_0, y), q1);
}

TEST(QuantRoundTripExact, ZerosAndConstantsSurvive) {
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                     GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                     GgmlType::Q8_K}) {
    std::vector<float> zeros(256, 0.0f);
    EXPECT_EQ(roundtrip_rms(t, zeros), 0.0) << ggml_type_name(t);
    std::vector<float> negative(256, -0.75f);  // a block of one value, below zero
    EXPECT_LT(roundtrip_rms(t, negative), 0.75 * 0.01) << ggml_type_name(t);
  }
}

TEST(QuantRoundTripExact, CanQuantizeMatchesQuantizeRow) {
  EXPECT_FALSE(can_quantize(GgmlType::I32));
  EXPECT_FALSE(can_quantize(GgmlType::IQ2_XXS));
  EXPECT_TRUE(can_quantize(GgmlType::Q6_K));
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> out(1024);
  try {
    quantize_row(GgmlType::IQ4_XS, x.data(), out.data(), 256);
    FAIL() << "expected ma::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("IQ4_XS"), std::string::npos) << e.what();
  }
  EXPECT_THROW(quantize_row(GgmlType::I8, x.data(), out.data(), 256), Error);
}

}  // namespace
}  // namespace ma
