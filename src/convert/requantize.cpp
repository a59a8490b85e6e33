#include "convert/requantize.h"

#include <filesystem>

#include "convert/converter.h"
#include "convert/file_type.h"
#include "convert/row_encoder.h"
#include "core/error.h"
#include "quant/quantize.h"

namespace ma::convert {
namespace {

namespace fs = std::filesystem;

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(b, ec) && fs::equivalent(a, b, ec)) return true;
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

// A count key that may be stored per layer as an array: its first value.
uint64_t first_uint(const gguf::File& f, const std::string& key, uint64_t fallback) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr) return fallback;
  if (v->type == gguf::ValueType::ARRAY) {
    const auto& items = v->as_array(key).items;
    return items.empty() ? fallback : items[0].as_uint(key);
  }
  return v->as_uint(key);
}

}  // namespace

size_t quantize_gguf(const QuantizeOptions& opts) {
  const FileType ft = parse_file_type(opts.type);
  if (same_file(opts.in_path, opts.out_path)) {
    throw Error("quantize: the output " + opts.out_path +
                " is the input file; choose another name");
  }
  const gguf::File in = gguf::File::open(opts.in_path);
  const std::string arch = in.architecture();
  const uint64_t n_layers = first_uint(in, arch + ".block_count", 0);
  const uint64_t n_head = first_uint(in, arch + ".attention.head_count", 1);
  const uint64_t n_head_kv = first_uint(in, arch + ".attention.head_count_kv", n_head);
  const bool tied = in.find_tensor("output.weight") == nullptr;

  GgufStreamWriter w;
  for (const auto& kv : in.metadata()) w.set(kv.key, kv.value);
  w.set("general.file_type", gguf::Value::u32(ft.ftype));

  std::vector<GgmlType> types;
  bool quantized = false;
  for (const auto& t : in.tensors()) {
    GgmlType type = t.type;
    if (t.shape.size() >= 2) {
      TensorSlot slot{
          t.name, t.shape, static_cast<uint32_t>(n_layers),
          static_cast<uint32_t>(n_head_kv == 0 ? 1 : std::max<uint64_t>(1, n_head / n_head_kv)),
          tied};
      type = choose_tensor_type(ft, slot);
      if (type != t.type && !ggml_type_traits(t.type).supported) {
        throw Error(in.label() + ": tensor '" + t.name + "' has type " +
                    std::string(ggml_type_name(t.type)) + ", which cannot be decoded");
      }
    }
    types.push_back(type);
    quantized = quantized || ggml_type_traits(type).block_size > 1;
    w.declare_tensor(t.name, type, t.shape);
  }
  if (quantized) {
    w.set("general.quantization_version", gguf::Value::u32(2));
  } else {
    w.remove("general.quantization_version");
  }

  w.begin(opts.out_path);
  const auto& tensors = in.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const gguf::TensorInfo& t = tensors[i];
    if (opts.progress) {
      print_progress("quantize", i + 1, tensors.size(), t.name,
                     std::string(ggml_type_name(types[i])), t.shape);
    }
    if (types[i] == t.type) {
      w.write_data(t.data);
      continue;
    }
    const uint64_t cols = t.shape[0];
    const size_t src_row = ggml_row_size(t.type, cols);
    const GgmlType src_type = t.type;
    const uint8_t* base = t.data.data();
    encode_tensor(
        types[i], t.rows(), cols,
        [=](uint64_t r, float* out) {
          dequantize_row(src_type, base + r * src_row, out, static_cast<int64_t>(cols));
        },
        w);
  }
  w.finish();
  return tensors.size();
}

}  // namespace ma::convert
