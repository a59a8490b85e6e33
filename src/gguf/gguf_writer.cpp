#include "gguf/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace ma::gguf {
namespace {

// Sinks: one appends to memory, one streams to a FILE*.
struct BufferSink {
  std::vector<uint8_t>& out;
  void bytes(const void* p, size_t n) {
    if (n == 0) return;
    const size_t at = out.size();
    out.resize(at + n);  // resize + memcpy: GCC 12 misreports vector::insert here
    std::memcpy(out.data() + at, p, n);
  }
  uint64_t size() const { return out.size(); }
};

struct FileSink {
  std::FILE* f;
  const std::string& path;
  uint64_t written = 0;
  void bytes(const void* p, size_t n) {
    if (n != 0 && std::fwrite(p, 1, n, f) != n) {
      throw Error(path + ": write failed: " + std::strerror(errno));
    }
    written += n;
  }
  uint64_t size() const { return written; }
};

template <typename Sink, typename T>
void put(Sink& s, T v) {
  s.bytes(&v, sizeof(v));
}

template <typename Sink>
void put_string(Sink& s, const std::string& str) {
  put<Sink, uint64_t>(s, str.size());
  s.bytes(str.data(), str.size());
}

template <typename Sink>
void put_value(Sink& s, const Value& v) {
  switch (v.type) {
    case ValueType::STRING:
      put_string(s, std::get<std::string>(v.data));
      return;
    case ValueType::ARRAY: {
      const auto& arr = std::get<Array>(v.data);
      put<Sink, uint32_t>(s, static_cast<uint32_t>(arr.elem_type));
      put<Sink, uint64_t>(s, arr.items.size());
      for (const auto& item : arr.items) {
        if (item.type != arr.elem_type) {
          throw Error("gguf writer: array of " + std::string(value_type_name(arr.elem_type)) +
                      " holds a " + std::string(value_type_name(item.type)));
        }
        put_value(s, item);
      }
      return;
    }
    case ValueType::BOOL:
      put<Sink, uint8_t>(s, std::get<bool>(v.data) ? 1 : 0);
      return;
    default:
      std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_arithmetic_v<T>) put<Sink, T>(s, x);
          },
          v.data);
  }
}

template <typename Sink>
void pad_to(Sink& s, uint64_t alignment) {
  static const uint8_t zeros[256] = {};
  uint64_t pad = (alignment - s.size() % alignment) % alignment;
  while (pad > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, sizeof(zeros)));
    s.bytes(zeros, n);
    pad -= n;
  }
}

uint64_t align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

}  // namespace

void Writer::set(const std::string& key, Value value) {
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

void Writer::remove(const std::string& key) {
  std::erase_if(kvs_, [&](const KeyValue& kv) { return kv.key == key; });
  if (key == "general.alignment") alignment_ = kDefaultAlignment;
}

void Writer::copy_metadata(const File& from) {
  for (const auto& kv : from.metadata()) set(kv.key, kv.value);
}

void Writer::add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                        std::span<const uint8_t> data) {
  if (shape.empty() || shape.size() > kMaxDims) {
    throw Error("tensor '" + name + "': must have 1 to 4 dimensions");
  }
  for (const auto& t : tensors_) {
    if (t.name == name) throw Error("duplicate tensor name '" + name + "'");
  }
  const auto& traits = ggml_type_traits(type);
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  if (shape[0] % traits.block_size != 0) {
    throw Error("tensor '" + name + "': first dimension is not a multiple of the " +
                std::string(traits.name) + " block size");
  }
  const uint64_t expected = n / traits.block_size * traits.type_size;
  if (data.size() != expected) {
    throw Error("tensor '" + name + "': " + std::to_string(data.size()) + " bytes given, " +
                std::to_string(expected) + " expected for its shape and type");
  }
  tensors_.push_back({name, type, std::move(shape), data, {}});
}

void Writer::add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                        std::vector<uint8_t> data) {
  add_tensor(name, type, std::move(shape), std::span<const uint8_t>(data));
  tensors_.back().owned = std::move(data);  // a moved vector keeps its buffer
  tensors_.back().data = tensors_.back().owned;
}

template <typename Sink>
void Writer::emit(Sink& sink) const {
  put<Sink, uint32_t>(sink, kMagic);
  put<Sink, uint32_t>(sink, 3);
  put<Sink, uint64_t>(sink, tensors_.size());
  put<Sink, uint64_t>(sink, kvs_.size());
  for (const auto& kv : kvs_) {
    put_string(sink, kv.key);
    put<Sink, uint32_t>(sink, static_cast<uint32_t>(kv.value.type));
    put_value(sink, kv.value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(sink, t.name);
    put<Sink, uint32_t>(sink, static_cast<uint32_t>(t.shape.size()));
    for (uint64_t d : t.shape) put<Sink, uint64_t>(sink, d);
    put<Sink, uint32_t>(sink, static_cast<uint32_t>(t.type));
    put<Sink, uint64_t>(sink, offset);
    offset = align_up(offset + t.data.size(), alignment_);
  }
  pad_to(sink, alignment_);
  for (const auto& t : tensors_) {
    sink.bytes(t.data.data(), t.data.size());
    pad_to(sink, alignment_);
  }
}

std::vector<uint8_t> Writer::to_bytes() const {
  std::vector<uint8_t> out;
  BufferSink sink{out};
  emit(sink);
  return out;
}

void Writer::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw Error(path + ": cannot create: " + std::strerror(errno));
  try {
    FileSink sink{f, path};
    emit(sink);
    if (std::fflush(f) != 0) throw Error(path + ": write failed: " + std::strerror(errno));
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    throw Error(path + ": write failed: " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename from " + tmp + ": " + ec.message());
  }
}

}  // namespace ma::gguf
