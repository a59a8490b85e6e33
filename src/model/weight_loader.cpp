#include "model/weight_loader.h"

#include "core/error.h"
#include "quant/quantize.h"

namespace ma {
namespace {

std::string shape_string(const std::vector<uint64_t>& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

}  // namespace

Weight WeightLoader::matrix(const std::string& name, int64_t in, int64_t out) const {
  const gguf::TensorInfo& t = file_.tensor(name);
  const bool ok = t.shape.size() == 2 && static_cast<int64_t>(t.shape[0]) == in &&
                  static_cast<int64_t>(t.shape[1]) == out;
  if (!ok) {
    throw Error(file_.label() + ": tensor '" + name + "' has shape " + shape_string(t.shape) +
                ", expected {" + std::to_string(in) + ", " + std::to_string(out) + "}");
  }
  return Weight::from_tensor(t);
}

std::vector<Weight> WeightLoader::stacked(const std::string& name, int64_t in, int64_t out,
                                          int64_t count) const {
  const gguf::TensorInfo& t = file_.tensor(name);
  const bool ok = t.shape.size() == 3 && static_cast<int64_t>(t.shape[0]) == in &&
                  static_cast<int64_t>(t.shape[1]) == out &&
                  static_cast<int64_t>(t.shape[2]) == count;
  if (!ok) {
    throw Error(file_.label() + ": tensor '" + name + "' has shape " + shape_string(t.shape) +
                ", expected {" + std::to_string(in) + ", " + std::to_string(out) + ", " +
                std::to_string(count) + "}");
  }
  std::vector<Weight> views(static_cast<size_t>(count), Weight::from_tensor(t));
  for (int64_t i = 0; i < count; ++i) {
    Weight& w = views[static_cast<size_t>(i)];
    w.out = out;
    w.data += static_cast<size_t>(i * out) * w.row_bytes;
  }
  return views;
}

std::vector<float> WeightLoader::vector(const std::string& name, int64_t n) const {
  const gguf::TensorInfo& t = file_.tensor(name);
  if (static_cast<int64_t>(t.n_elements) != n) {
    throw Error(file_.label() + ": tensor '" + name + "' has shape " + shape_string(t.shape) +
                ", expected " + std::to_string(n) + " elements");
  }
  std::vector<float> v(static_cast<size_t>(n));
  dequantize_row(t.type, t.data.data(), v.data(), n);
  return v;
}

int64_t WeightLoader::u(const std::string& key) const {
  return static_cast<int64_t>(file_.get_uint(file_.architecture() + "." + key));
}

int64_t WeightLoader::u(const std::string& key, int64_t fallback) const {
  return static_cast<int64_t>(
      file_.get_uint(file_.architecture() + "." + key, static_cast<uint64_t>(fallback)));
}

float WeightLoader::f(const std::string& key, float fallback) const {
  return static_cast<float>(file_.get_float(file_.architecture() + "." + key, fallback));
}

std::vector<int64_t> WeightLoader::per_layer(const std::string& key, int64_t n_layer) const {
  const std::string full = file_.architecture() + "." + key;
  const gguf::Value* v = file_.find(full);
  if (v == nullptr) throw Error(file_.label() + ": metadata key '" + full + "' is missing");
  if (v->type != gguf::ValueType::ARRAY) {
    return std::vector<int64_t>(static_cast<size_t>(n_layer),
                                static_cast<int64_t>(v->as_uint(full)));
  }
  const auto& items = v->as_array(full).items;
  if (static_cast<int64_t>(items.size()) != n_layer) {
    throw Error(file_.label() + ": '" + full + "' has " + std::to_string(items.size()) +
                " values for " + std::to_string(n_layer) + " layers");
  }
  std::vector<int64_t> out;
  for (const auto& item : items) out.push_back(static_cast<int64_t>(item.as_uint(full)));
  return out;
}

}  // namespace ma
