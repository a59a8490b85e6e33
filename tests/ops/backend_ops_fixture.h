// The backend op tests' fixture (test_backend_ops.cpp instantiates it for
// every device; test_backend_attention.cpp adds its attention cases).
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "blocks/forward_context.h"
#include "op_test_util.h"

namespace ma::test {

// A backend of one kind with the host-side pieces the CPU one borrows. A
// device backend uploads host weights once and knows them by address, as it
// does a model's, so the tests keep theirs alive as long as the backend.
struct BackendBox {
  ThreadPool pool{2};
  Workspace ws;
  cpu::MatmulScratch mm;
  cpu::AttentionScratch att;
  std::unique_ptr<Backend> be;
  std::deque<TestWeight> weights;
  std::deque<std::vector<float>> vectors;
  // begin_decode_step's inputs: a backend may keep their addresses for the step.
  int32_t step_token = 0;
  int64_t step_position = 0;

  const TestWeight& weight(GgmlType type, int64_t in, int64_t out, uint32_t seed) {
    return weights.emplace_back(type, in, out, seed);
  }
  const std::vector<float>& vector(std::vector<float> v) {
    return vectors.emplace_back(std::move(v));
  }

  BackendBox(Device d, const KvCache* kv) {
    if (d == Device::kCpu) {
      be = std::make_unique<cpu::CpuBackend>(pool, ws, mm, att);
    } else {
      be = make_cuda_backend(nullptr, kv);
    }
  }
  // A one-token step at position 0 without a KV cache, as a decode op
  // sequence runs (a device may then fuse and defer ops within it).
  void begin_decode_step() { be->begin_step(&step_token, 1, &step_position, nullptr); }
  float* put(int id, const std::vector<float>& v) {
    float* p = be->buffer(id, v.size());
    be->upload(v.data(), static_cast<int64_t>(v.size()), p);
    return p;
  }
  std::vector<float> get(const float* p, size_t n) {
    std::vector<float> out(n);
    be->download(p, static_cast<int64_t>(n), out.data());
    return out;
  }
};

class BackendOps : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    std::string why;
    if (GetParam() == Device::kCuda && !cuda_available(&why)) {
      GTEST_SKIP() << "CUDA column skipped: " << why;
    }
  }
  std::unique_ptr<BackendBox> box(const KvCache* kv = nullptr) {
    return std::make_unique<BackendBox>(GetParam(), kv);
  }
};

}  // namespace ma::test
