// Looks up a model's tensors by name with the shape the architecture expects,
// so a mismatched or missing tensor is one clear error naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/weight.h"
#include "gguf/gguf_file.h"

namespace ma {

class WeightLoader {
 public:
  explicit WeightLoader(const gguf::File& file) : file_(file) {}

  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }
  // A matrix with rows of `in` elements and `out` rows (ggml shape {in, out}).
  Weight matrix(const std::string& name, int64_t in, int64_t out) const;
  // A stacked 3-D tensor {in, out, count} (e.g. a layer's MoE experts) as
  // `count` matrices {in, out} viewing consecutive rows.
  std::vector<Weight> stacked(const std::string& name, int64_t in, int64_t out,
                              int64_t count) const;
  // A vector of n values converted to float (norm weights, biases).
  std::vector<float> vector(const std::string& name, int64_t n) const;

  // Integer / float hyperparameters under "<arch>.<key>".
  int64_t u(const std::string& key) const;
  int64_t u(const std::string& key, int64_t fallback) const;
  float f(const std::string& key, float fallback) const;
  // A per-layer integer key: an array of n_layer values, or one value for all.
  std::vector<int64_t> per_layer(const std::string& key, int64_t n_layer) const;

 private:
  const gguf::File& file_;
};

}  // namespace ma
