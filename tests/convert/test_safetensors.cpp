// The safetensors reader: good files parse, every malformed header field is
// refused with ma::Error naming the problem.
#include <gtest/gtest.h>

#include "convert/safetensors.h"
#include "core/error.h"
#include "hf_fixture.h"

namespace ma::convert {
namespace {

using test::st_encode;
using test::StEntry;

std::vector<uint8_t> with_header(const std::string& json, size_t data_bytes) {
  std::vector<uint8_t> out(8 + json.size() + data_bytes, 0);
  const uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, json.data(), json.size());
  return out;
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    SafetensorsFile::parse(bytes, "bad.safetensors");
    FAIL() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}

TEST(ConvertSafetensors, ParsesAllDtypes) {
  const auto bytes = st_encode({{"a", "F32", {2, 3}, {1, 2, 3, 4, 5, 6}},
                                {"b", "F16", {2}, {0.5f, -2.0f}},
                                {"c", "BF16", {1, 2}, {1.5f, 3.0f}}});
  const auto f = SafetensorsFile::parse(bytes, "ok");
  ASSERT_EQ(f.tensors().size(), 3u);
  const StTensor* a = f.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->rows(), 2u);
  EXPECT_EQ(a->cols(), 3u);
  float row[3];
  a->row_to_f32(1, row);
  EXPECT_EQ(row[0], 4.0f);
  EXPECT_EQ(row[2], 6.0f);
  f.find("b")->row_to_f32(0, row);
  EXPECT_EQ(row[1], -2.0f);
  f.find("c")->row_to_f32(0, row);
  EXPECT_EQ(row[0], 1.5f);
}

TEST(ConvertSafetensors, TruncatedFile) {
  const auto full = st_encode({{"a", "F32", {4}, {1, 2, 3, 4}}});
  const std::vector<uint8_t> cut(full.begin(), full.end() - 4);
  expect_error(cut, "past the data section");
  expect_error({1, 2, 3}, "shorter than the 8-byte header");
}

TEST(ConvertSafetensors, HeaderLengthTooBig) {
  auto bytes = st_encode({{"a", "F32", {1}, {1}}});
  const uint64_t huge = bytes.size();  // runs past the end
  std::memcpy(bytes.data(), &huge, 8);
  expect_error(bytes, "runs past the end");
  const uint64_t absurd = uint64_t{1} << 40;
  std::memcpy(bytes.data(), &absurd, 8);
  expect_error(bytes, "implausible");
}

TEST(ConvertSafetensors, OffsetsOutOfRangeOrReversed) {
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
               "past the data section");
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
               "is after end");
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", 8),
               "non-negative");
}

TEST(ConvertSafetensors, SizeMismatch) {
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
               "need 12");
}

TEST(ConvertSafetensors, BadDtype) {
  expect_error(with_header(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8),
               "unsupported dtype 'I64'");
}

TEST(ConvertSafetensors, Overlap) {
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           12),
               "overlap");
}

TEST(ConvertSafetensors, MalformedJsonAndFields) {
  expect_error(with_header("{not json", 0), "not valid JSON");
  expect_error(with_header("[1,2]", 0), "not a JSON object");
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":"x","data_offsets":[0,4]}})", 4),
               "shape is not an array");
}

}  // namespace
}  // namespace ma::convert
