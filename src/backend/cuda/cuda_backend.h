// The CUDA backend: weights uploaded once to device memory, the KV cache's
// pages in device memory, every op a kernel (or cuBLAS) on one stream.
// Builds without nvcc get a version that says so (without_cuda.cpp).
#pragma once

#include <memory>

#include "backend/backend.h"

namespace ma {

class Model;
class KvCache;

// Uploads the model's weights (model may be null: weights then upload on
// first use, as the op tests do). `kv` (null without attention layers) gives
// the page geometry; its pages are allocated on the device here.
std::unique_ptr<Backend> make_cuda_backend(const Model* model, const KvCache* kv);

}  // namespace ma
