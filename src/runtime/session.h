// One sequence being evaluated: its state (KV pages, recurrent slots), the
// thread pool and every scratch buffer, all sized up front. Prefill runs the
// prompt through each layer in batches; decode runs one token. After the
// first step of each size, no step allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "blocks/forward_context.h"
#include "core/thread_pool.h"
#include "model/model.h"
#include "state/kv_cache.h"

namespace ma {

// A sequence's whole state at one point: the KV rows of every attention
// layer and every recurrent slot. Restoring it continues exactly from there
// (the base of prefix caching and speculative decoding).
struct SessionSnapshot {
  int64_t n_past = 0;
  std::vector<uint8_t> kv;       // KvCache::export_tokens
  std::vector<float> recurrent;  // every recurrent slot, as RecurrentState stores them
};

struct SessionOptions {
  int64_t n_ctx = 0;      // 0: the model's training context, at most 4096
  int n_threads = 0;      // 0: all hardware threads
  int64_t n_batch = 512;  // prefill tokens per forward pass
  KvType kv_type = KvType::kF16;
  Device device = Device::kCpu;
};

class Session {
 public:
  Session(const Model& model, SessionOptions options);

  const Model& model() const { return model_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return state_.kv_seq.length; }
  int n_threads() const { return pool_.size(); }
  Device device() const { return backend_->device(); }

  // Appends tokens; returns the logits after the last one ([n_vocab]).
  const float* prefill(std::span<const int32_t> tokens);
  // Appends tokens and writes the logits of every one: [tokens x n_vocab].
  void prefill_all(std::span<const int32_t> tokens, float* logits);
  // Appends one token; returns its logits.
  const float* decode(int32_t token);
  // Appends one token; returns the id of its largest logit (ties to the
  // lowest id), found where the logits are, so a device copies out one
  // integer instead of the logits.
  int32_t decode_greedy(int32_t token);
  // Forgets the sequence (keeps every buffer).
  void reset();

  SessionSnapshot snapshot() const;
  // Replaces the sequence with a snapshot taken from a session of the same model.
  void restore(const SessionSnapshot& snap);

 private:
  void require_host_state(const char* what) const;
  void run_batch(const int32_t* tokens, int64_t n, float* logits, bool all_logits,
                 int32_t* greedy_token = nullptr);

  const Model& model_;
  SessionOptions options_;
  int64_t n_ctx_;
  ThreadPool pool_;
  std::unique_ptr<KvCache> kv_;
  SequenceState state_;
  Workspace ws_;
  cpu::MatmulScratch matmul_;
  cpu::AttentionScratch attention_;
  std::unique_ptr<Backend> backend_;
  std::vector<int64_t> positions_;
  std::vector<float> logits_host_;  // where the backend has no host_output
  float* logits_ = nullptr;         // [n_vocab]
  int32_t greedy_token_ = -1;       // where greedy steps copy their token (a fixed address)
};

}  // namespace ma
