// A weight matrix in device memory, in the layout the CUDA kernels read:
// quantized blocks split into a quant array and a scale array, so each row's
// quants start 16-byte aligned and are read with 16-byte loads.
#pragma once

#include <cstdint>
#include <string>

#include "quant/ggml_type.h"

namespace ma::cuda {

// The weight types the CUDA backend uploads and multiplies: the one list the
// upload check, the matvec kernels' instantiations and their errors share.
inline constexpr GgmlType kDeviceWeightTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                                                  GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K,
                                                  GgmlType::Q5_K, GgmlType::Q6_K};

constexpr bool device_weight_supported(GgmlType type) {
  for (GgmlType t : kDeviceWeightTypes) {
    if (t == type) return true;
  }
  return false;
}

// "F32, F16, ...": for errors naming what is supported.
inline std::string device_weight_type_names() {
  std::string names;
  for (GgmlType t : kDeviceWeightTypes) {
    names += (names.empty() ? "" : ", ") + std::string(ggml_type_name(t));
  }
  return names;
}

struct DeviceWeight {
  GgmlType type = GgmlType::F32;
  int64_t in = 0;   // elements per row
  int64_t out = 0;  // rows
  // F32 / F16 / BF16: the rows as in the file. Q8_0: int8 [out x in].
  // Q4_0: [out x in/2] bytes, each 32-element block as the file's 16 nibble
  // bytes (element j in the low nibble of byte j, element j+16 in the high).
  // Q4_K: as Q4_0, each 32-element sub-block in Q4_0's nibble order (the
  // quants as stored, 0..15). Q5_K: the file's rows. Q6_K: each
  // 256-element super-block's first 208 bytes (ql, qh, scales), its fp16
  // scale moved to d.
  const void* q = nullptr;
  // Q8_0 / Q4_0: fp16 scale per block, [out x in/32]; Q6_K: [out x in/256];
  // Q4_K: a 16-byte header per super-block (cuda_math.cuh: q4_k_scale), as
  // many bytes as Q4_0's scales.
  const uint16_t* d = nullptr;
};

}  // namespace ma::cuda
