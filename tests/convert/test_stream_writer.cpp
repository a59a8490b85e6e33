// The streaming GGUF writer produces the same bytes as gguf::Writer and
// refuses data that does not match the declared tensors.
#include <gtest/gtest.h>

#include "convert/gguf_stream_writer.h"
#include "core/error.h"
#include "gguf/gguf_writer.h"
#include "hf_fixture.h"

namespace ma::convert {
namespace {

TEST(ConvertStreamWriter, MatchesGgufWriterBytes) {
  test::TempDir tmp;
  const std::vector<uint8_t> a(4 * 3 * 2, 7), b(34, 9);  // F32 {3,2}, Q8_0 {32}
  gguf::Writer ref;
  GgufStreamWriter w;
  ref.set("general.architecture", gguf::Value::str("llama"));
  ref.set("list", gguf::Value::string_array({"a", "bc"}));
  w.set("general.architecture", gguf::Value::str("llama"));
  w.set("list", gguf::Value::string_array({"a", "bc"}));
  ref.add_tensor("x", GgmlType::F32, {3, 2}, std::span<const uint8_t>(a));
  ref.add_tensor("y", GgmlType::Q8_0, {32}, std::span<const uint8_t>(b));
  w.declare_tensor("x", GgmlType::F32, {3, 2});
  w.declare_tensor("y", GgmlType::Q8_0, {32});
  w.begin(tmp / "s.gguf");
  w.write_data(std::span<const uint8_t>(a).first(10));  // pieces may split anywhere
  w.write_data(std::span<const uint8_t>(a).subspan(10));
  w.write_data(b);
  w.finish();
  const auto bytes = test::read_file_bytes(tmp / "s.gguf");
  EXPECT_EQ(bytes, ref.to_bytes());
}

TEST(ConvertStreamWriter, RefusesMissingOrExtraData) {
  test::TempDir tmp;
  {
    GgufStreamWriter w;
    w.declare_tensor("x", GgmlType::F32, {4});
    w.begin(tmp / "a.gguf");
    w.write_data(std::vector<uint8_t>(8));
    EXPECT_THROW(w.finish(), Error);
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "a.gguf"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "a.gguf.tmp"));
  GgufStreamWriter w;
  w.declare_tensor("x", GgmlType::F32, {1});
  w.begin(tmp / "b.gguf");
  EXPECT_THROW(w.write_data(std::vector<uint8_t>(8)), Error);
  EXPECT_THROW(w.declare_tensor("q", GgmlType::Q4_0, {16}), Error);
}

}  // namespace
}  // namespace ma::convert
