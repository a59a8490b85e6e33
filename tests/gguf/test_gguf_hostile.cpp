// Malformed and hostile GGUF inputs are refused with one clear error that
// names the problem; none may crash or read out of bounds (these tests also
// run under AddressSanitizer + UBSan).
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "raw_gguf.h"

namespace ma {
namespace {

using test::RawGguf;

// Expects parse() to throw ma::Error whose message contains `needle`.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    gguf::File::parse(bytes, "hostile.gguf");
    FAIL() << "accepted a file that should be refused for: " << needle;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << "message was: " << msg;
    EXPECT_NE(msg.find("hostile.gguf"), std::string::npos) << "message was: " << msg;
  }
}

// A valid two-tensor file written by our writer.
std::vector<uint8_t> valid_file() {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("llama"));
  w.set("llama.block_count", gguf::Value::u32(1));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array({"<unk>", "<s>", "</s>", "a"}));
  std::vector<uint8_t> a(4 * 8), b(34);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i + 3);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 5 + 1);
  w.add_tensor("a", GgmlType::F32, {8}, std::move(a));
  w.add_tensor("b", GgmlType::Q8_0, {32}, std::move(b));
  return w.to_bytes();
}

TEST(GgufHostile, ValidFileParses) {
  const auto bytes = valid_file();
  const auto f = gguf::File::parse(bytes);
  EXPECT_EQ(f.tensors().size(), 2u);
}

TEST(GgufHostile, EveryTruncationIsRefused) {
  const auto bytes = valid_file();
  // The padding after the last tensor is optional; every shorter prefix is broken.
  const auto whole = gguf::File::parse(bytes);
  const auto& last = whole.tensor("b");
  const size_t end = static_cast<size_t>(whole.data_offset() + last.offset + last.n_bytes);
  ASSERT_LT(end, bytes.size());
  for (size_t n = 0; n < end; ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    EXPECT_THROW(gguf::File::parse(cut), Error) << "prefix of " << n << " bytes";
  }
}

TEST(GgufHostile, EverySingleByteCorruptionIsHandled) {
  // Flipping any header/metadata byte must either parse or throw ma::Error.
  const auto bytes = valid_file();
  const auto f = gguf::File::parse(bytes);
  for (size_t i = 0; i < f.data_offset(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      auto bad = bytes;
      bad[i] ^= x;
      try {
        gguf::File::parse(bad);
      } catch (const Error&) {
      }
    }
  }
}

TEST(GgufHostile, BadMagic) {
  auto bytes = valid_file();
  bytes[0] = 'X';
  expect_refused(bytes, "bad magic");
}

TEST(GgufHostile, Versions) {
  expect_refused(RawGguf().header(0, 0, 1).bytes, "version 1 is not supported");
  expect_refused(RawGguf().header(0, 0, 7).bytes, "unknown GGUF version 7");
  expect_refused(RawGguf().header(0, 0, 0x03000000).bytes, "big-endian");
  EXPECT_NO_THROW(gguf::File::parse(RawGguf().header(0, 0, 2).bytes));
}

TEST(GgufHostile, CountsThatCannotFit) {
  expect_refused(RawGguf().header(0, uint64_t{1} << 62).bytes, "metadata: count");
  expect_refused(RawGguf().header(~uint64_t{0}, 0).bytes, "tensor infos: count");
  // An array claiming 2^61 u64 elements.
  auto arr = RawGguf().header(0, 1).str("k").u32(9).u32(10).u64(uint64_t{1} << 61);
  expect_refused(arr.bytes, "array: count");
  // A string longer than the file.
  expect_refused(RawGguf().header(0, 1).str("k").u32(8).u64(1000).bytes, "runs past the end");
  expect_refused(RawGguf().header(0, 1).u64(~uint64_t{0}).data(16).bytes, "runs past the end");
}

TEST(GgufHostile, BadValues) {
  expect_refused(RawGguf().header(0, 1).str("k").u32(13).u32(0).bytes, "unknown value type 13");
  expect_refused(RawGguf().header(0, 1).str("k").u32(7).u8(2).bytes, "bool value 2");
  expect_refused(RawGguf().header(0, 1).str("k").u32(9).u32(77).u64(0).bytes,
                 "unknown array element type 77");
  expect_refused(RawGguf().header(0, 1).str("").u32(4).u32(1).bytes, "is empty");
  expect_refused(RawGguf().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).bytes,
                 "duplicate metadata key 'k'");
  expect_refused(RawGguf().header(0, 1).kv_u32("general.alignment", 24).bytes,
                 "not a power of two");
  expect_refused(RawGguf().header(0, 1).kv_str("general.alignment", "x").bytes,
                 "general.alignment must be a u32");
}

TEST(GgufHostile, DeeplyNestedArrays) {
  RawGguf r;
  r.header(0, 1).str("deep").u32(9);
  for (int i = 0; i < 1000; ++i) r.u32(9).u64(1);  // array of array of ...
  r.u32(4).u64(0);
  expect_refused(r.bytes, "nested deeper");
}

TEST(GgufHostile, TensorInfos) {
  // Unknown and unsupported types, bad dimensions.
  expect_refused(RawGguf().header(1, 0).tensor("t", {32}, 99, 0).pad().data(64).bytes,
                 "unknown tensor type id 99");
  expect_refused(RawGguf().header(1, 0).tensor("t", {256}, 16, 0).pad().data(128).bytes,
                 "has type IQ2_XXS, which metal-attention does not support");
  expect_refused(RawGguf().header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad().data(32).bytes,
                 "5 dimensions");
  expect_refused(RawGguf().header(1, 0).tensor("t", {}, 0, 0).pad().data(32).bytes, "0 dimensions");
  expect_refused(
      RawGguf().header(1, 0).tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0).pad().bytes,
      "element count overflows");
  expect_refused(RawGguf().header(1, 0).tensor("t", {33}, 8, 0).pad().data(64).bytes,
                 "not a multiple of the Q8_0 block size 32");
  expect_refused(RawGguf().header(1, 0).tensor("", {8}, 0, 0).pad().data(32).bytes, "empty name");
  expect_refused(
      RawGguf().header(2, 0).tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32).pad().data(64).bytes,
      "duplicate tensor name 't'");
}

TEST(GgufHostile, TensorData) {
  // Past the end, misaligned, overlapping, missing data section.
  expect_refused(RawGguf().header(1, 0).tensor("t", {16}, 0, 0).pad().data(60).bytes,
                 "runs past the end");
  expect_refused(RawGguf().header(1, 0).tensor("t", {8}, 0, uint64_t{1} << 63).pad().data(32).bytes,
                 "runs past the end");
  expect_refused(RawGguf().header(1, 0).tensor("t", {8}, 0, 4).pad().data(64).bytes,
                 "not aligned to 32");
  expect_refused(
      RawGguf().header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad().data(96).bytes,
      "overlap");
  expect_refused(RawGguf().header(1, 0).tensor("t", {8}, 0, 0).bytes, "truncated");
}

}  // namespace
}  // namespace ma
