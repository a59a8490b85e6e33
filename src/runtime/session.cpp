#include "runtime/session.h"

#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "core/error.h"

namespace ma {

Session::Session(const Model& model, SessionOptions options)
    : model_(model),
      options_(options),
      n_ctx_(options.n_ctx > 0 ? options.n_ctx
                               : std::min<int64_t>(model.hparams().n_ctx_train, 4096)),
      // A device session keeps one host thread: the kernels do the work.
      pool_(options.device == Device::kCpu ? options.n_threads : 1) {
  if (options_.n_batch <= 0) throw Error("batch size must be positive");
  if (n_ctx_ <= 0) throw Error("context size must be positive");
  const bool on_cpu = options_.device == Device::kCpu;
  if (!on_cpu) {
    std::string why;
    if (!cuda_available(&why)) throw Error("--device cuda: " + why);
    if (const std::string no = model_.unsupported_on(options_.device); !no.empty()) {
      throw Error(model_.hparams().arch + " cannot run on " + device_name(options_.device) + ": " +
                  no);
    }
  }
  const auto rows = model_.kv_row_elems();
  if (!rows.empty()) {
    // On a device the cache's pages live in device memory; the host keeps
    // only the page bookkeeping.
    kv_ = std::make_unique<KvCache>(rows, n_ctx_, options_.kv_type, KvCache::kDefaultPageSize,
                                    on_cpu);
    state_.kv = kv_.get();
    state_.kv_seq = kv_->new_sequence();
  }
  if (on_cpu) {
    backend_ = std::make_unique<cpu::CpuBackend>(pool_, ws_, matmul_, attention_);
  } else {
    backend_ = make_cuda_backend(&model_, kv_.get());
  }
  state_.recurrent = RecurrentState(model_.recurrent_slot_bytes());
  positions_.resize(static_cast<size_t>(options_.n_batch));
  // On a device the logits land in its page-locked memory directly.
  const int64_t n_vocab = model_.hparams().n_vocab;
  logits_ = backend_->host_output(n_vocab);
  if (logits_ == nullptr) {
    logits_host_.resize(static_cast<size_t>(n_vocab));
    logits_ = logits_host_.data();
  }
}

void Session::run_batch(const int32_t* tokens, int64_t n, float* logits, bool all_logits,
                        int32_t* greedy_token) {
  const int64_t pos0 = n_past();
  if (pos0 + n > n_ctx_) {
    throw Error("context is full: " + std::to_string(pos0 + n) +
                " tokens do not fit in the context of " + std::to_string(n_ctx_) +
                " tokens (raise -c)");
  }
  if (kv_) kv_->reserve(state_.kv_seq, n);
  for (int64_t t = 0; t < n; ++t) positions_[static_cast<size_t>(t)] = pos0 + t;
  model_.check_tokens(tokens, n);
  ForwardContext ctx{pool_, ws_, matmul_, attention_, *backend_, positions_.data(), n, state_};
  ctx.greedy_token = greedy_token;
  backend_->begin_step(tokens, n, positions_.data(), kv_ ? &state_.kv_seq : nullptr);
  // One-token steps are the decode loop: a device may record and replay them.
  const StepKind kind = n != 1 || all_logits      ? StepKind::kBatch
                        : greedy_token != nullptr ? StepKind::kDecodeGreedy
                                                  : StepKind::kDecode;
  backend_->run_step(kind, [&] { model_.forward(ctx, tokens, logits, all_logits); });
  state_.kv_seq.length = pos0 + n;
}

const float* Session::prefill(std::span<const int32_t> tokens) {
  if (tokens.empty()) throw Error("prefill needs at least one token");
  for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(options_.n_batch)) {
    const size_t n = std::min(tokens.size() - i, static_cast<size_t>(options_.n_batch));
    run_batch(tokens.data() + i, static_cast<int64_t>(n), logits_, false);
  }
  return logits_;
}

void Session::prefill_all(std::span<const int32_t> tokens, float* logits) {
  const size_t vocab = static_cast<size_t>(model_.hparams().n_vocab);
  for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(options_.n_batch)) {
    const size_t n = std::min(tokens.size() - i, static_cast<size_t>(options_.n_batch));
    run_batch(tokens.data() + i, static_cast<int64_t>(n), logits + i * vocab, true);
  }
}

const float* Session::decode(int32_t token) {
  run_batch(&token, 1, logits_, false);
  return logits_;
}

int32_t Session::decode_greedy(int32_t token) {
  run_batch(&token, 1, logits_, false, &greedy_token_);
  if (greedy_token_ < 0) {
    throw Error("greedy decoding: every logit is NaN, so no token can be chosen");
  }
  return greedy_token_;
}

void Session::reset() {
  if (kv_) kv_->release(state_.kv_seq);
  state_.kv_seq.length = 0;
  state_.recurrent.reset();
}

void Session::require_host_state(const char* what) const {
  if (backend_->device() != Device::kCpu) {
    throw Error(std::string(what) + " are not supported on " + device_name(backend_->device()) +
                " yet (the KV cache lives in device memory)");
  }
}

SessionSnapshot Session::snapshot() const {
  require_host_state("snapshots");
  SessionSnapshot snap;
  snap.n_past = n_past();
  if (kv_) snap.kv = kv_->export_tokens(state_.kv_seq, snap.n_past);
  const size_t floats = state_.recurrent.bytes() / sizeof(float);
  snap.recurrent.assign(state_.recurrent.data(), state_.recurrent.data() + floats);
  return snap;
}

void Session::restore(const SessionSnapshot& snap) {
  require_host_state("snapshots");
  if (snap.n_past > n_ctx_) {
    throw Error("snapshot of " + std::to_string(snap.n_past) +
                " tokens does not fit in the context of " + std::to_string(n_ctx_));
  }
  if (snap.recurrent.size() * sizeof(float) != state_.recurrent.bytes()) {
    throw Error("snapshot does not match this model's recurrent state");
  }
  reset();
  if (kv_) {
    kv_->reserve(state_.kv_seq, snap.n_past);
    kv_->import_tokens(state_.kv_seq, snap.n_past, snap.kv);
  }
  std::copy(snap.recurrent.begin(), snap.recurrent.end(), state_.recurrent.data());
  state_.kv_seq.length = snap.n_past;
}

}  // namespace ma
