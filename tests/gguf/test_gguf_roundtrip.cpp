// Writer output reads back identically: every value type, nested arrays,
// alignment, and real files (read -> write -> read gives the same metadata
// and tensor bytes).
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>

#include <filesystem>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "test_support.h"

namespace ma {
namespace {

void expect_same(const gguf::File& a, const gguf::File& b) {
  ASSERT_EQ(a.metadata().size(), b.metadata().size());
  for (size_t i = 0; i < a.metadata().size(); ++i) {
    EXPECT_EQ(a.metadata()[i].key, b.metadata()[i].key);
    EXPECT_TRUE(a.metadata()[i].value == b.metadata()[i].value) << a.metadata()[i].key;
  }
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& x = a.tensors()[i];
    const auto& y = b.tensors()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.shape, y.shape);
    EXPECT_EQ(x.type, y.type);
    ASSERT_EQ(x.data.size(), y.data.size());
    EXPECT_TRUE(std::equal(x.data.begin(), x.data.end(), y.data.begin())) << x.name;
  }
}

gguf::Writer rewrite(const gguf::File& f) {
  gguf::Writer w;
  w.copy_metadata(f);
  for (const auto& t : f.tensors()) w.add_tensor(t.name, t.type, t.shape, t.data);
  return w;
}

TEST(GgufRoundTrip, EveryValueType) {
  using gguf::Value;
  using gguf::ValueType;
  gguf::Writer w;
  w.set("u8", Value::u8(200));
  w.set("i8", Value::i8(-100));
  w.set("u16", Value::u16(60000));
  w.set("i16", Value::i16(-30000));
  w.set("u32", Value::u32(4000000000u));
  w.set("i32", Value::i32(-2000000000));
  w.set("f32", Value::f32(3.25f));
  w.set("bool", Value::boolean(true));
  w.set("str", Value::str("h\xC3\xA9llo \xE2\x96\x81world"));
  w.set("u64", Value::u64(~uint64_t{0} - 5));
  w.set("i64", Value::i64(-(int64_t{1} << 60)));
  w.set("f64", Value::f64(-1.0e300));
  w.set("strings", Value::string_array({"a", "", "<0x0A>", "\xE2\x96\x81the"}));
  w.set("nested", Value::array(ValueType::ARRAY, {Value::i32_array({1, 2, 3}), Value::i32_array({}),
                                                  Value::i32_array({-7})}));
  w.set("empty", Value::array(ValueType::FLOAT32, {}));
  const auto bytes = w.to_bytes();
  const auto f = gguf::File::parse(bytes);
  EXPECT_EQ(f.metadata().size(), 15u);
  EXPECT_EQ(f.get_uint("u8"), 200u);
  EXPECT_EQ(f.get("i8").as_int("i8"), -100);
  EXPECT_EQ(f.get_uint("u32"), 4000000000u);
  EXPECT_EQ(f.get("i64").as_int("i64"), -(int64_t{1} << 60));
  EXPECT_EQ(f.get_uint("u64"), ~uint64_t{0} - 5);
  EXPECT_THROW(f.get("u64").as_int("u64"), Error);  // does not fit
  EXPECT_EQ(f.get_float("f32"), 3.25);
  EXPECT_EQ(f.get_float("f64"), -1.0e300);
  EXPECT_TRUE(f.get_bool("bool", false));
  EXPECT_EQ(f.get_string("str"), "h\xC3\xA9llo \xE2\x96\x81world");
  const auto& nested = f.get("nested").as_array("nested");
  ASSERT_EQ(nested.items.size(), 3u);
  EXPECT_EQ(nested.items[0].as_array("n0").items[2].as_int("x"), 3);
  EXPECT_EQ(nested.items[2].as_array("n2").items[0].as_int("x"), -7);
  EXPECT_THROW(f.get_string("u8"), Error);  // type mismatch names the key
  EXPECT_THROW(f.get("missing"), Error);
  // Re-writing what we read gives the same bytes.
  EXPECT_EQ(rewrite(f).to_bytes(), bytes);
}

TEST(GgufRoundTrip, CustomAlignmentPadsData) {
  gguf::Writer w;
  w.set("general.alignment", gguf::Value::u32(64));
  std::vector<uint8_t> a(12, 0x11), b(8, 0x22);
  w.add_tensor("a", GgmlType::F32, {3}, std::move(a));
  w.add_tensor("b", GgmlType::F16, {2, 2}, std::move(b));
  const auto bytes = w.to_bytes();
  const auto f = gguf::File::parse(bytes);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("b").offset, 64u);
  EXPECT_EQ(f.tensor("b").data[0], 0x22);
  EXPECT_EQ(bytes.size() % 64, 0u);
}

TEST(GgufRoundTrip, WriterRefusesBadTensors) {
  gguf::Writer w;
  std::vector<uint8_t> ok(16, 1);
  EXPECT_THROW(w.add_tensor("x", GgmlType::F32, {5}, std::span<const uint8_t>(ok)), Error);
  EXPECT_THROW(w.add_tensor("x", GgmlType::Q4_0, {16}, std::span<const uint8_t>(ok)), Error);
  w.add_tensor("x", GgmlType::F32, {4}, std::span<const uint8_t>(ok));
  EXPECT_THROW(w.add_tensor("x", GgmlType::F32, {4}, std::span<const uint8_t>(ok)), Error);
  EXPECT_THROW(w.set("general.alignment", gguf::Value::u32(3)), Error);
}

TEST(GgufRoundTrip, RealFilesThroughDisk) {
  for (const char* name : {"models/stories260K.gguf", "models/tiny-rwkv-7v0-834K-F16.gguf",
                           "vocab/ggml-vocab-gpt-2.gguf"}) {
    MA_REQUIRE_SHARED(path, name);
    const auto original = gguf::File::open(path.string());
    const auto out = std::filesystem::temp_directory_path() /
                     ("ma_roundtrip_" + std::to_string(::getpid()) + ".gguf");
    rewrite(original).write(out.string());
    {
      const auto copy = gguf::File::open(out.string());
      expect_same(original, copy);
      EXPECT_EQ(copy.version(), 3u);
    }
    std::filesystem::remove(out);
    EXPECT_FALSE(std::filesystem::exists(out.string() + ".tmp"));
  }
}

TEST(GgufRoundTrip, FailedWriteLeavesNothing) {
  gguf::Writer w;
  w.set("a", gguf::Value::u32(1));
  EXPECT_THROW(w.write("/nonexistent-dir/x.gguf"), Error);
}

}  // namespace
}  // namespace ma
