// The backend seam on the CPU: the fast ops of backend/cpu over host memory,
// with the session's thread pool and scratch buffers.
#pragma once

#include "backend/backend.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "core/thread_pool.h"

namespace ma {
class Workspace;
}

namespace ma::cpu {

class CpuBackend final : public Backend {
 public:
  CpuBackend(ThreadPool& pool, Workspace& ws, MatmulScratch& matmul, AttentionScratch& attention)
      : pool_(pool), ws_(ws), matmul_(matmul), attention_(attention) {}

  Device device() const override { return Device::kCpu; }
  float* buffer(int id, size_t n) override;
  void upload(const float* host, int64_t n, float* dst) override { copy(host, n, dst); }
  void download(const float* src, int64_t n, float* host) override { copy(src, n, host); }
  void copy(const float* src, int64_t n, float* dst) override;

  void embedding(const Weight& table, const int32_t* tokens, int64_t n_tokens, float scale,
                 float* out) override;
  void norm(NormKind kind, const float* x, const std::vector<float>& weight,
            const std::vector<float>& bias, int64_t rows, int64_t dim, float eps,
            float* y) override;
  void matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) override {
    cpu::matmul(pool_, w, x, n_tokens, y, matmul_);
  }
  void add(float* y, const float* x, int64_t n) override { add_inplace(y, x, n); }
  void add_bias(float* y, const std::vector<float>& bias, int64_t rows, int64_t dim) override {
    cpu::add_bias(y, bias.data(), rows, dim);
  }
  void gated(GateActivation act, float* gate, const float* up, int64_t n) override;
  void softcap(float* x, int64_t n, float cap) override;
  void argmax(const float* x, int64_t n, int32_t* host) override;
  void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int64_t* positions,
            const RopeParams& p) override {
    pool_.parallel_for(n_tokens, [&](int64_t t0, int64_t t1) {
      cpu::rope(x + t0 * n_heads * head_dim, t1 - t0, n_heads, head_dim, positions + t0, p);
    });
  }
  void attention(const AttentionStep& step, float* q, float* k, const float* v,
                 float* out) override;

 private:
  ThreadPool& pool_;
  Workspace& ws_;
  MatmulScratch& matmul_;
  AttentionScratch& attention_;
};

}  // namespace ma::cpu
