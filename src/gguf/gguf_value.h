// GGUF metadata values: the 13 value types of the spec, arrays nested to any
// depth. Typed accessors convert between integer widths only when the value
// fits, so a key read as u32 from an i64 file value is still checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ma::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

std::string_view value_type_name(ValueType t);
bool value_type_valid(uint32_t raw);

struct Value;

struct Array {
  ValueType elem_type = ValueType::UINT8;
  std::vector<Value> items;
};

struct Value {
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, Array, uint64_t, int64_t, double>;
  ValueType type = ValueType::UINT8;
  Storage data = uint8_t{0};

  static Value u8(uint8_t v) { return {ValueType::UINT8, v}; }
  static Value i8(int8_t v) { return {ValueType::INT8, v}; }
  static Value u16(uint16_t v) { return {ValueType::UINT16, v}; }
  static Value i16(int16_t v) { return {ValueType::INT16, v}; }
  static Value u32(uint32_t v) { return {ValueType::UINT32, v}; }
  static Value i32(int32_t v) { return {ValueType::INT32, v}; }
  static Value f32(float v) { return {ValueType::FLOAT32, v}; }
  static Value boolean(bool v) { return {ValueType::BOOL, v}; }
  static Value str(std::string v) { return {ValueType::STRING, std::move(v)}; }
  static Value u64(uint64_t v) { return {ValueType::UINT64, v}; }
  static Value i64(int64_t v) { return {ValueType::INT64, v}; }
  static Value f64(double v) { return {ValueType::FLOAT64, v}; }
  static Value array(ValueType elem, std::vector<Value> items) {
    return {ValueType::ARRAY, Array{elem, std::move(items)}};
  }
  static Value string_array(const std::vector<std::string>& items);
  static Value f32_array(const std::vector<float>& items);
  static Value i32_array(const std::vector<int32_t>& items);

  bool is_integer() const;
  bool is_number() const {
    return is_integer() || type == ValueType::FLOAT32 || type == ValueType::FLOAT64;
  }

  // Accessors throw ma::Error naming `what` (usually the key) on a type mismatch.
  int64_t as_int(std::string_view what) const;
  uint64_t as_uint(std::string_view what) const;
  double as_double(std::string_view what) const;
  bool as_bool(std::string_view what) const;
  const std::string& as_string(std::string_view what) const;
  const Array& as_array(std::string_view what) const;

  // Short human-readable rendering; long arrays are elided after `max_items`.
  std::string to_display(size_t max_items = 8) const;

  bool operator==(const Value& other) const = default;
};

bool operator==(const Array& a, const Array& b);

}  // namespace ma::gguf
