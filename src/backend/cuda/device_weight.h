// A weight matrix in device memory, in the layout the CUDA kernels read:
// quantized blocks split into a quant array and a scale array, so each row's
// quants start 16-byte aligned and are read with 16-byte loads.
#pragma once

#include <cstdint>

#include "quant/ggml_type.h"

namespace ma::cuda {

struct DeviceWeight {
  GgmlType type = GgmlType::F32;
  int64_t in = 0;   // elements per row
  int64_t out = 0;  // rows
  // F32 / F16 / BF16: the rows as in the file. Q8_0: int8 [out x in].
  // Q4_0: [out x in/2] bytes, each 32-element block as the file's 16 nibble
  // bytes (element j in the low nibble of byte j, element j+16 in the high).
  // Q4_K / Q5_K: the file's rows. Q6_K: each 256-element super-block's
  // first 208 bytes (ql, qh, scales), its fp16 scale moved to d.
  const void* q = nullptr;
  // Q8_0 / Q4_0: fp16 scale per block, [out x in/32]; Q6_K: [out x in/256].
  const uint16_t* d = nullptr;
};

}  // namespace ma::cuda
