// What a CUDA session uploads once and then reads in place: weight
// matrices, float vectors (norm weights, biases) and RoPE rate tables, each
// known by the address of its host original (alive as long as the model).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/device_weight.h"
#include "backend/weight.h"
#include "ops/rope.h"

namespace ma::cuda {

struct RopeTable {
  RopeParams params;              // what the table was made from
  const double* rates = nullptr;  // [n_dims / 2] angle per position of each pair
  float mscale = 1.0f;
};

class DeviceStore {
 public:
  // The weight on the device (uploaded on first use); ma::Error for a type
  // without CUDA kernels or a weight repacked for the CPU.
  const DeviceWeight& weight(const Weight& w);
  const float* vector(const std::vector<float>& v);
  const RopeTable& rope(const RopeParams& p);

 private:
  const void* upload(const void* host, size_t bytes);

  std::unordered_map<const uint8_t*, DeviceWeight> weights_;
  std::unordered_map<const float*, const float*> vectors_;
  std::unordered_map<const RopeParams*, RopeTable> ropes_;
  std::vector<DeviceBuffer> owned_;
};

}  // namespace ma::cuda
