#include "convert/gguf_stream_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace ma::convert {

using gguf::Value;
using gguf::ValueType;

GgufStreamWriter::~GgufStreamWriter() {
  abandon();
}

void GgufStreamWriter::abandon() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  std::remove((path_ + ".tmp").c_str());
}

void GgufStreamWriter::set(const std::string& key, Value value) {
  if (file_ != nullptr) throw Error("gguf writer: metadata set after the header was written");
  if (key == "general.alignment") {
    if (value.type != ValueType::UINT32) throw Error("general.alignment must be a u32");
    const uint32_t a = std::get<uint32_t>(value.data);
    if (a == 0 || (a & (a - 1)) != 0) throw Error("general.alignment must be a power of two");
    alignment_ = a;
  }
  for (auto& kv : kvs_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back({key, std::move(value)});
}

void GgufStreamWriter::remove(const std::string& key) {
  std::erase_if(kvs_, [&](const gguf::KeyValue& kv) { return kv.key == key; });
  if (key == "general.alignment") alignment_ = gguf::kDefaultAlignment;
}

const Value* GgufStreamWriter::find(const std::string& key) const {
  for (const auto& kv : kvs_) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

void GgufStreamWriter::declare_tensor(const std::string& name, GgmlType type,
                                      std::vector<uint64_t> shape) {
  if (file_ != nullptr) throw Error("gguf writer: tensor declared after the header was written");
  if (shape.empty() || shape.size() > gguf::kMaxDims) {
    throw Error("tensor '" + name + "': must have 1 to 4 dimensions");
  }
  for (const auto& t : tensors_) {
    if (t.name == name) throw Error("duplicate tensor name '" + name + "'");
  }
  const auto& traits = ggml_type_traits(type);
  if (shape[0] % traits.block_size != 0) {
    throw Error("tensor '" + name + "': first dimension " + std::to_string(shape[0]) +
                " is not a multiple of the " + std::string(traits.name) + " block size " +
                std::to_string(traits.block_size));
  }
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  tensors_.push_back({name, type, std::move(shape), n / traits.block_size * traits.type_size});
}

void GgufStreamWriter::raw(const void* p, size_t n) {
  if (n != 0 && std::fwrite(p, 1, n, file_) != n) {
    const std::string why = std::strerror(errno);
    abandon();
    throw Error(path_ + ": write failed: " + why);
  }
  written_ += n;
}

void GgufStreamWriter::pad() {
  static const uint8_t zeros[256] = {};
  uint64_t n = (alignment_ - written_ % alignment_) % alignment_;
  while (n > 0) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, sizeof(zeros)));
    raw(zeros, k);
    n -= k;
  }
}

void GgufStreamWriter::put_string(const std::string& s) {
  const uint64_t n = s.size();
  raw(&n, sizeof(n));
  raw(s.data(), s.size());
}

void GgufStreamWriter::put_value(const Value& v) {
  switch (v.type) {
    case ValueType::STRING:
      put_string(std::get<std::string>(v.data));
      return;
    case ValueType::ARRAY: {
      const auto& arr = std::get<gguf::Array>(v.data);
      const uint32_t et = static_cast<uint32_t>(arr.elem_type);
      const uint64_t n = arr.items.size();
      raw(&et, sizeof(et));
      raw(&n, sizeof(n));
      for (const auto& item : arr.items) {
        if (item.type != arr.elem_type) {
          throw Error("gguf writer: array of " + std::string(value_type_name(arr.elem_type)) +
                      " holds a " + std::string(value_type_name(item.type)));
        }
        put_value(item);
      }
      return;
    }
    case ValueType::BOOL: {
      const uint8_t b = std::get<bool>(v.data) ? 1 : 0;
      raw(&b, 1);
      return;
    }
    default:
      std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_arithmetic_v<T>) raw(&x, sizeof(x));
          },
          v.data);
  }
}

void GgufStreamWriter::begin(const std::string& path) {
  if (file_ != nullptr) throw Error("gguf writer: begin() called twice");
  path_ = path;
  file_ = std::fopen((path + ".tmp").c_str(), "wb");
  if (file_ == nullptr) throw Error(path + ": cannot create: " + std::strerror(errno));
  written_ = 0;
  const uint32_t magic = gguf::kMagic, version = 3;
  const uint64_t n_tensors = tensors_.size(), n_kv = kvs_.size();
  raw(&magic, 4);
  raw(&version, 4);
  raw(&n_tensors, 8);
  raw(&n_kv, 8);
  for (const auto& kv : kvs_) {
    put_string(kv.key);
    const uint32_t t = static_cast<uint32_t>(kv.value.type);
    raw(&t, 4);
    put_value(kv.value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(t.name);
    const uint32_t nd = static_cast<uint32_t>(t.shape.size());
    raw(&nd, 4);
    for (uint64_t d : t.shape) raw(&d, 8);
    const uint32_t type = static_cast<uint32_t>(t.type);
    raw(&type, 4);
    raw(&offset, 8);
    offset = (offset + t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  pad();
  current_ = 0;
  current_done_ = 0;
}

void GgufStreamWriter::write_data(std::span<const uint8_t> bytes) {
  if (file_ == nullptr) throw Error("gguf writer: write_data() outside begin()/finish()");
  while (!bytes.empty()) {
    if (current_ >= tensors_.size()) {
      abandon();
      throw Error(path_ + ": more tensor data written than declared");
    }
    const Declared& t = tensors_[current_];
    const uint64_t take = std::min<uint64_t>(bytes.size(), t.n_bytes - current_done_);
    raw(bytes.data(), static_cast<size_t>(take));
    bytes = bytes.subspan(static_cast<size_t>(take));
    current_done_ += take;
    if (current_done_ == t.n_bytes) {
      pad();
      ++current_;
      current_done_ = 0;
    }
  }
}

void GgufStreamWriter::finish() {
  if (file_ == nullptr) throw Error("gguf writer: finish() without begin()");
  // Zero-byte tensors complete without any write_data call.
  while (current_ < tensors_.size() && tensors_[current_].n_bytes == 0) ++current_;
  if (current_ != tensors_.size()) {
    const std::string name = tensors_[current_].name;
    abandon();
    throw Error(path_ + ": tensor '" + name + "' is missing data");
  }
  if (std::fclose(file_) != 0) {
    file_ = nullptr;
    std::remove((path_ + ".tmp").c_str());
    throw Error(path_ + ": write failed: " + std::strerror(errno));
  }
  file_ = nullptr;
  std::error_code ec;
  std::filesystem::rename(path_ + ".tmp", path_, ec);
  if (ec) {
    std::remove((path_ + ".tmp").c_str());
    throw Error(path_ + ": cannot rename from " + path_ + ".tmp: " + ec.message());
  }
}

}  // namespace ma::convert
