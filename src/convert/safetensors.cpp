#include "convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fp16.h"
#include "core/mapped_file.h"

namespace ma::convert {
namespace {

// A header beyond this is not a real model (real ones are a few MB at most).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

StDtype parse_dtype(const std::string& s, const std::string& where) {
  if (s == "F32") return StDtype::F32;
  if (s == "F16") return StDtype::F16;
  if (s == "BF16") return StDtype::BF16;
  throw Error(where + ": unsupported dtype '" + s + "' (supported: F32, F16, BF16)");
}

uint64_t json_u64(const nlohmann::json& j, const std::string& where) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0)) {
    throw Error(where + " must be a non-negative integer");
  }
  return j.get<uint64_t>();
}

}  // namespace

std::string_view st_dtype_name(StDtype t) {
  switch (t) {
    case StDtype::F32:
      return "F32";
    case StDtype::F16:
      return "F16";
    case StDtype::BF16:
      return "BF16";
  }
  return "?";
}

size_t st_dtype_size(StDtype t) {
  return t == StDtype::F32 ? 4 : 2;
}

void StTensor::row_to_f32(uint64_t r, float* out) const {
  const uint64_t n = cols();
  const uint8_t* p = data.data() + r * n * st_dtype_size(dtype);
  if (dtype == StDtype::F32) {
    std::memcpy(out, p, n * 4);
    return;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    out[i] = dtype == StDtype::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
  }
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto mapping = std::make_shared<MappedFile>(path);
  SafetensorsFile f = parse(mapping->bytes(), path);
  f.mapping_ = std::move(mapping);
  return f;
}

SafetensorsFile SafetensorsFile::parse(std::span<const uint8_t> bytes, std::string label) {
  SafetensorsFile f;
  f.label_ = std::move(label);
  const std::string& L = f.label_;
  if (bytes.size() < 8) {
    throw Error(L + ": not a safetensors file (" + std::to_string(bytes.size()) +
                " bytes, shorter than the 8-byte header length)");
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > kMaxHeaderBytes) {
    throw Error(L + ": header length " + std::to_string(header_len) + " is implausible (over " +
                std::to_string(kMaxHeaderBytes) + " bytes)");
  }
  if (header_len > bytes.size() - 8) {
    throw Error(L + ": header length " + std::to_string(header_len) + " runs past the end of the " +
                std::to_string(bytes.size()) + "-byte file (truncated?)");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw Error(L + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw Error(L + ": header is not a JSON object");
  const std::span<const uint8_t> data = bytes.subspan(8 + header_len);

  struct Range {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = L + ": tensor '" + name + "'";
    if (!entry.is_object()) throw Error(where + ": entry is not an object");
    for (const char* k : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(k)) throw Error(where + ": missing \"" + k + "\"");
    }
    if (!entry["dtype"].is_string()) throw Error(where + ": dtype is not a string");
    StTensor t;
    t.name = name;
    t.dtype = parse_dtype(entry["dtype"].get<std::string>(), where);
    if (!entry["shape"].is_array()) throw Error(where + ": shape is not an array");
    if (entry["shape"].size() > 8) throw Error(where + ": more than 8 dimensions");
    t.n_elements = 1;
    for (const auto& d : entry["shape"]) {
      const uint64_t v = json_u64(d, where + ": shape entry");
      if (v != 0 && t.n_elements > (uint64_t{1} << 50) / v) {
        throw Error(where + ": shape is too large");
      }
      t.shape.push_back(v);
      t.n_elements *= v;
    }
    const auto& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2) {
      throw Error(where + ": data_offsets must be [begin, end]");
    }
    const uint64_t b = json_u64(off[0], where + ": data_offsets[0]");
    const uint64_t e = json_u64(off[1], where + ": data_offsets[1]");
    if (b > e) {
      throw Error(where + ": data_offsets begin " + std::to_string(b) + " is after end " +
                  std::to_string(e));
    }
    if (e > data.size()) {
      throw Error(where + ": data_offsets end " + std::to_string(e) +
                  " is past the data section (" + std::to_string(data.size()) +
                  " bytes; file truncated?)");
    }
    const uint64_t want = t.n_elements * st_dtype_size(t.dtype);
    if (e - b != want) {
      throw Error(where + ": holds " + std::to_string(e - b) + " bytes but its shape and dtype " +
                  std::string(st_dtype_name(t.dtype)) + " need " + std::to_string(want));
    }
    t.data = data.subspan(b, e - b);
    ranges.push_back({b, e, f.tensors_.size()});
    f.tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      throw Error(L + ": tensors '" + f.tensors_[ranges[i - 1].index].name + "' and '" +
                  f.tensors_[ranges[i].index].name + "' overlap");
    }
  }
  return f;
}

const StTensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace ma::convert
