// A validated reader for the safetensors format: an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
// little-endian tensor bytes. Every header field is checked against the file
// (offsets in range and ordered, size == elements x dtype size, no overlap)
// before any tensor byte is touched; a bad file throws ma::Error naming it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ma {
class MappedFile;
}

namespace ma::convert {

enum class StDtype { F32, F16, BF16 };

std::string_view st_dtype_name(StDtype t);
size_t st_dtype_size(StDtype t);

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<uint64_t> shape;  // row-major (PyTorch) order: the last dim is contiguous
  uint64_t n_elements = 0;
  std::span<const uint8_t> data;

  // Rows of the 2-D view: the product of all but the last dim (1 for scalars/1-D).
  uint64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  uint64_t rows() const { return cols() == 0 ? 0 : n_elements / cols(); }
  // Converts row r (cols() elements) to float.
  void row_to_f32(uint64_t r, float* out) const;
  // Same dtype, shape and bytes (e.g. an lm_head saved as a copy of the embedding).
  bool same_contents(const StTensor& other) const {
    return dtype == other.dtype && shape == other.shape &&
           std::equal(data.begin(), data.end(), other.data.begin(), other.data.end());
  }
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  // Parses bytes the caller keeps alive; `label` names them in errors.
  static SafetensorsFile parse(std::span<const uint8_t> bytes, std::string label);

  const std::string& label() const { return label_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const StTensor* find(std::string_view name) const;

 private:
  std::string label_;
  std::shared_ptr<MappedFile> mapping_;
  std::vector<StTensor> tensors_;
};

}  // namespace ma::convert
