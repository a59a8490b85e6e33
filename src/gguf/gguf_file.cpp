#include "gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/mapped_file.h"

namespace ma::gguf {
namespace {

// Nested arrays deeper than this are refused (bounds the parser's recursion).
constexpr int kMaxArrayDepth = 8;

// Smallest encoded size of one element, used to reject counts that cannot fit
// in the rest of the file before anything is allocated.
uint64_t min_encoded_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
    case ValueType::STRING:
      return 8;
    case ValueType::ARRAY:
      return 12;
  }
  return 1;
}

// Bounds-checked little-endian reader over the file bytes.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string& label) : bytes_(bytes), label_(label) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  [[noreturn]] void fail(const std::string& what, uint64_t at) const {
    throw Error(label_ + ": " + what + " (at byte " + std::to_string(at) + ")");
  }
  [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }

  template <typename T>
  T read(const char* what) {
    if (remaining() < sizeof(T)) {
      fail(std::string("file is truncated: cannot read ") + what + " (" +
           std::to_string(sizeof(T)) + " bytes needed, " + std::to_string(remaining()) + " left)");
    }
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& what) {
    const uint64_t at = pos_;
    const uint64_t len = read<uint64_t>("string length");
    if (len > remaining()) {
      fail(what + ": string length " + std::to_string(len) + " runs past the end of the file", at);
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  // Checks that `count` elements of at least `min_size` bytes each can fit.
  void check_count(uint64_t count, uint64_t min_size, const std::string& what) const {
    if (count > remaining() / min_size) {
      fail(what + ": count " + std::to_string(count) + " cannot fit in the " +
           std::to_string(remaining()) + " bytes left in the file");
    }
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& label_;
  uint64_t pos_ = 0;
};

Value read_value(Cursor& in, ValueType type, const std::string& what, int depth) {
  switch (type) {
    case ValueType::UINT8:
      return Value::u8(in.read<uint8_t>("u8"));
    case ValueType::INT8:
      return Value::i8(in.read<int8_t>("i8"));
    case ValueType::UINT16:
      return Value::u16(in.read<uint16_t>("u16"));
    case ValueType::INT16:
      return Value::i16(in.read<int16_t>("i16"));
    case ValueType::UINT32:
      return Value::u32(in.read<uint32_t>("u32"));
    case ValueType::INT32:
      return Value::i32(in.read<int32_t>("i32"));
    case ValueType::FLOAT32:
      return Value::f32(in.read<float>("f32"));
    case ValueType::UINT64:
      return Value::u64(in.read<uint64_t>("u64"));
    case ValueType::INT64:
      return Value::i64(in.read<int64_t>("i64"));
    case ValueType::FLOAT64:
      return Value::f64(in.read<double>("f64"));
    case ValueType::BOOL: {
      const uint64_t at = in.pos();
      const uint8_t b = in.read<uint8_t>("bool");
      if (b > 1) in.fail(what + ": bool value " + std::to_string(b) + " is not 0 or 1", at);
      return Value::boolean(b != 0);
    }
    case ValueType::STRING:
      return Value::str(in.read_string(what));
    case ValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) {
        in.fail(what + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      }
      const uint64_t at = in.pos();
      const uint32_t raw = in.read<uint32_t>("array element type");
      if (!value_type_valid(raw)) {
        in.fail(what + ": unknown array element type " + std::to_string(raw), at);
      }
      const auto elem = static_cast<ValueType>(raw);
      const uint64_t count = in.read<uint64_t>("array length");
      in.check_count(count, min_encoded_size(elem), what + ": array");
      std::vector<Value> items;
      items.reserve(static_cast<size_t>(count));
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(in, elem, what, depth + 1));
      return Value::array(elem, std::move(items));
    }
  }
  in.fail(what + ": unknown value type " + std::to_string(static_cast<uint32_t>(type)));
}

bool is_power_of_two(uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

uint64_t align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

std::string supported_type_list() {
  std::string out;
  for (uint32_t id = 0; id < 64; ++id) {
    const auto t = ggml_type_traits(id);
    if (!t || !t->supported) continue;
    if (!out.empty()) out += ", ";
    out += t->name;
  }
  return out;
}

}  // namespace

File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::string& path, LoadMode mode) {
  File f;
  f.label_ = path;
  f.mapping_ = std::make_shared<MappedFile>(path, mode);
  f.bytes_ = f.mapping_->bytes();
  f.parse_all();
  return f;
}

File File::parse(std::span<const uint8_t> bytes, std::string label) {
  File f;
  f.label_ = std::move(label);
  f.bytes_ = bytes;
  f.parse_all();
  return f;
}

void File::parse_all() {
  Cursor in(bytes_, label_);

  // Header.
  const uint32_t magic = in.read<uint32_t>("magic");
  if (magic != kMagic) {
    in.fail("not a GGUF file (bad magic, expected \"GGUF\")", 0);
  }
  version_ = in.read<uint32_t>("version");
  if (version_ == 1) in.fail("GGUF version 1 is not supported (only versions 2 and 3)", 4);
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xffff) == 0 && version_ != 0) {
      in.fail("GGUF version field " + std::to_string(version_) +
                  " looks byte-swapped: big-endian files are not supported",
              4);
    }
    in.fail("unknown GGUF version " + std::to_string(version_) + " (supported: 2 and 3)", 4);
  }
  const uint64_t n_tensors = in.read<uint64_t>("tensor count");
  const uint64_t n_kv = in.read<uint64_t>("metadata count");
  // Smallest key/value: 8-byte key length + 4-byte type + 1-byte value.
  in.check_count(n_kv, 13, "metadata");

  // Metadata.
  kvs_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = in.pos();
    std::string key = in.read_string("metadata key #" + std::to_string(i));
    if (key.empty()) in.fail("metadata key #" + std::to_string(i) + " is empty", at);
    if (kv_index_.count(key)) in.fail("duplicate metadata key '" + key + "'", at);
    const uint64_t type_at = in.pos();
    const uint32_t raw = in.read<uint32_t>("value type");
    if (!value_type_valid(raw)) {
      in.fail("metadata key '" + key + "': unknown value type " + std::to_string(raw), type_at);
    }
    Value value = read_value(in, static_cast<ValueType>(raw), "metadata key '" + key + "'", 0);
    kv_index_.emplace(key, kvs_.size());
    kvs_.push_back({std::move(key), std::move(value)});
  }

  if (const Value* a = find("general.alignment")) {
    if (a->type != ValueType::UINT32) {
      throw Error(label_ + ": general.alignment must be a u32, found " +
                  std::string(value_type_name(a->type)));
    }
    const uint32_t align = std::get<uint32_t>(a->data);
    if (!is_power_of_two(align)) {
      throw Error(label_ + ": general.alignment " + std::to_string(align) +
                  " is not a power of two");
    }
    alignment_ = align;
  }

  // Tensor infos. Smallest: name length 8 + n_dims 4 + one dim 8 + type 4 + offset 8.
  in.check_count(n_tensors, 32, "tensor infos");
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = in.pos();
    TensorInfo t;
    t.name = in.read_string("tensor #" + std::to_string(i) + " name");
    const std::string what = "tensor '" + t.name + "'";
    if (t.name.empty()) in.fail("tensor #" + std::to_string(i) + " has an empty name", at);
    if (tensor_index_.count(t.name)) in.fail("duplicate tensor name '" + t.name + "'", at);
    const uint32_t n_dims = in.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      in.fail(what + ": " + std::to_string(n_dims) + " dimensions (must be 1 to 4)", at);
    }
    t.n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = in.read<uint64_t>("tensor dimension");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (ne != 0 &&
           t.n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne)) {
        in.fail(what + ": element count overflows", at);
      }
      t.shape.push_back(ne);
      t.n_elements *= ne;
    }
    const uint64_t type_at = in.pos();
    const uint32_t type_id = in.read<uint32_t>("tensor type");
    const auto traits = ggml_type_traits(type_id);
    if (!traits) in.fail(what + ": unknown tensor type id " + std::to_string(type_id), type_at);
    if (!traits->supported) {
      in.fail(what + " has type " + std::string(traits->name) +
                  ", which metal-attention does not support (supported: " + supported_type_list() +
                  ")",
              type_at);
    }
    t.type = traits->type;
    if (t.shape[0] % traits->block_size != 0) {
      in.fail(what + ": first dimension " + std::to_string(t.shape[0]) +
                  " is not a multiple of the " + std::string(traits->name) + " block size " +
                  std::to_string(traits->block_size),
              at);
    }
    // n_elements <= INT64_MAX and type_size <= 292, so this cannot overflow.
    t.n_bytes = t.n_elements / traits->block_size * traits->type_size;
    t.offset = in.read<uint64_t>("tensor offset");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // Data section.
  data_offset_ = align_up(in.pos(), alignment_);
  if (tensors_.empty()) return;  // vocabulary-only files may end without padding
  if (data_offset_ > bytes_.size()) {
    in.fail("file is truncated: the tensor data section starts past the end of the file");
  }
  const uint64_t data_size = bytes_.size() - data_offset_;

  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(tensors_.size());
  for (auto& t : tensors_) {
    const std::string what = "tensor '" + t.name + "'";
    if (t.offset % alignment_ != 0) {
      throw Error(label_ + ": " + what + ": data offset " + std::to_string(t.offset) +
                  " is not aligned to " + std::to_string(alignment_));
    }
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      throw Error(label_ + ": " + what + ": data (offset " + std::to_string(t.offset) + ", " +
                  std::to_string(t.n_bytes) + " bytes) runs past the end of the file (" +
                  std::to_string(data_size) + " data bytes)");
    }
    t.data = bytes_.subspan(static_cast<size_t>(data_offset_ + t.offset),
                            static_cast<size_t>(t.n_bytes));
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    if (prev.offset + prev.n_bytes > cur.offset) {
      throw Error(label_ + ": tensors '" + prev.name + "' and '" + cur.name +
                  "' overlap in the data section");
    }
  }
}

const Value* File::find(std::string_view key) const {
  const auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const Value& File::get(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) throw Error(label_ + ": missing metadata key '" + std::string(key) + "'");
  return *v;
}

std::string File::get_string(std::string_view key) const {
  return get(key).as_string(label_ + ": " + std::string(key));
}

std::string File::get_string(std::string_view key, std::string fallback) const {
  const Value* v = find(key);
  return v ? v->as_string(label_ + ": " + std::string(key)) : fallback;
}

uint64_t File::get_uint(std::string_view key) const {
  return get(key).as_uint(label_ + ": " + std::string(key));
}

uint64_t File::get_uint(std::string_view key, uint64_t fallback) const {
  const Value* v = find(key);
  return v ? v->as_uint(label_ + ": " + std::string(key)) : fallback;
}

double File::get_float(std::string_view key) const {
  return get(key).as_double(label_ + ": " + std::string(key));
}

double File::get_float(std::string_view key, double fallback) const {
  const Value* v = find(key);
  return v ? v->as_double(label_ + ": " + std::string(key)) : fallback;
}

bool File::get_bool(std::string_view key, bool fallback) const {
  const Value* v = find(key);
  return v ? v->as_bool(label_ + ": " + std::string(key)) : fallback;
}

std::string File::architecture() const {
  return get_string("general.architecture", "");
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (t == nullptr) throw Error(label_ + ": missing tensor '" + std::string(name) + "'");
  return *t;
}

}  // namespace ma::gguf
