#include "gguf/gguf_value.h"

#include <limits>
#include <sstream>

#include "core/error.h"

namespace ma::gguf {
namespace {

[[noreturn]] void mismatch(std::string_view what, std::string_view wanted, ValueType got) {
  throw Error(std::string(what) + ": expected " + std::string(wanted) + ", found " +
              std::string(value_type_name(got)));
}

}  // namespace

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
      return "u8";
    case ValueType::INT8:
      return "i8";
    case ValueType::UINT16:
      return "u16";
    case ValueType::INT16:
      return "i16";
    case ValueType::UINT32:
      return "u32";
    case ValueType::INT32:
      return "i32";
    case ValueType::FLOAT32:
      return "f32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::UINT64:
      return "u64";
    case ValueType::INT64:
      return "i64";
    case ValueType::FLOAT64:
      return "f64";
  }
  return "invalid";
}

bool value_type_valid(uint32_t raw) {
  return raw <= static_cast<uint32_t>(ValueType::FLOAT64);
}

Value Value::string_array(const std::vector<std::string>& items) {
  std::vector<Value> v;
  v.reserve(items.size());
  for (const auto& s : items) v.push_back(str(s));
  return array(ValueType::STRING, std::move(v));
}

Value Value::f32_array(const std::vector<float>& items) {
  std::vector<Value> v;
  v.reserve(items.size());
  for (float f : items) v.push_back(f32(f));
  return array(ValueType::FLOAT32, std::move(v));
}

Value Value::i32_array(const std::vector<int32_t>& items) {
  std::vector<Value> v;
  v.reserve(items.size());
  for (int32_t i : items) v.push_back(i32(i));
  return array(ValueType::INT32, std::move(v));
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::UINT16:
    case ValueType::INT16:
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::UINT64:
    case ValueType::INT64:
      return true;
    default:
      return false;
  }
}

int64_t Value::as_int(std::string_view what) const {
  if (!is_integer()) mismatch(what, "an integer", type);
  if (type == ValueType::UINT64) {
    const uint64_t u = std::get<uint64_t>(data);
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(std::string(what) + ": value " + std::to_string(u) + " is too large");
    }
    return static_cast<int64_t>(u);
  }
  return std::visit(
      [](const auto& x) -> int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(x);
        } else {
          return 0;  // unreachable: guarded by is_integer()
        }
      },
      data);
}

uint64_t Value::as_uint(std::string_view what) const {
  if (type == ValueType::UINT64) return std::get<uint64_t>(data);
  const int64_t i = as_int(what);
  if (i < 0) throw Error(std::string(what) + ": value " + std::to_string(i) + " is negative");
  return static_cast<uint64_t>(i);
}

double Value::as_double(std::string_view what) const {
  if (type == ValueType::FLOAT32) return std::get<float>(data);
  if (type == ValueType::FLOAT64) return std::get<double>(data);
  if (is_integer()) return static_cast<double>(as_int(what));
  mismatch(what, "a number", type);
}

bool Value::as_bool(std::string_view what) const {
  if (type != ValueType::BOOL) mismatch(what, "a bool", type);
  return std::get<bool>(data);
}

const std::string& Value::as_string(std::string_view what) const {
  if (type != ValueType::STRING) mismatch(what, "a string", type);
  return std::get<std::string>(data);
}

const Array& Value::as_array(std::string_view what) const {
  if (type != ValueType::ARRAY) mismatch(what, "an array", type);
  return std::get<Array>(data);
}

std::string Value::to_display(size_t max_items) const {
  std::ostringstream out;
  switch (type) {
    case ValueType::STRING: {
      out << '"';
      for (char c : std::get<std::string>(data)) {
        if (c == '"' || c == '\\') {
          out << '\\' << c;
        } else if (c == '\n') {
          out << "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20) {
          out << "\\x" << std::hex << static_cast<int>(c) << std::dec;
        } else {
          out << c;
        }
      }
      out << '"';
      break;
    }
    case ValueType::ARRAY: {
      const auto& arr = std::get<Array>(data);
      out << '[';
      for (size_t i = 0; i < arr.items.size() && i < max_items; ++i) {
        if (i) out << ", ";
        out << arr.items[i].to_display(max_items);
      }
      if (arr.items.size() > max_items) out << ", ... (" << arr.items.size() << " items)";
      out << ']';
      break;
    }
    case ValueType::BOOL:
      out << (std::get<bool>(data) ? "true" : "false");
      break;
    case ValueType::FLOAT32:
      out << std::get<float>(data);
      break;
    case ValueType::FLOAT64:
      out << std::get<double>(data);
      break;
    case ValueType::UINT64:
      out << std::get<uint64_t>(data);
      break;
    default:
      out << as_int("value");
      break;
  }
  return out.str();
}

bool operator==(const Array& a, const Array& b) {
  return a.elem_type == b.elem_type && a.items == b.items;
}

}  // namespace ma::gguf
