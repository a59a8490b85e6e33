#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/device_kv.h"
#include "backend/cuda/device_store.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/prefill_gemm.h"
#include "backend/cuda/trace.h"
#include "blocks/forward_context.h"
#include "core/error.h"
#include "model/model.h"
#include "state/kv_cache.h"

namespace ma {

bool cuda_available(std::string* why) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    if (why != nullptr) {
      *why = std::string("no CUDA device: ") +
             (err != cudaSuccess ? cudaGetErrorString(err) : "none found");
    }
    return false;
  }
  return true;
}

std::string cuda_device_name() {
  if (!cuda_available()) return "";
  cudaDeviceProp prop{};
  MA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

namespace cuda {
namespace {

bool graphs_from_env() {
  const char* v = std::getenv("MA_CUDA_GRAPHS");
  return v == nullptr || std::string(v) != "0";
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(const Model* model, const KvCache* kv) {
    MA_CUDA_CHECK(cudaSetDevice(0));
    MA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    MA_CUDA_CHECK(cudaEventCreateWithFlags(&inputs_read_, cudaEventDisableTiming));
    // Its scratch grows by grow()'s rules: a recorded step may hold it.
    gemm_ = std::make_unique<PrefillGemm>(
        stream_,
        [this](DeviceBuffer& b, size_t bytes, const char* what) { return grow(b, bytes, what); });
    if (kv != nullptr) kv_.emplace(*kv);
    if (model != nullptr) {
      weight(model->embedding());
      int64_t widest = 0;
      model->for_each_matmul_weight([&](const Weight& w) {
        weight(w);
        widest = std::max(widest, w.in);
      });
      // Every int8 copy is some product's input: sized once, so a recorded
      // step never finds them short.
      reserve_q8(widest);
    }
  }

  ~CudaBackend() override {
    (void)cudaStreamSynchronize(stream_);
    for (Recording& g : graphs_) {
      if (g.exec != nullptr) (void)cudaGraphExecDestroy(g.exec);
    }
    gemm_.reset();
    (void)cudaEventDestroy(inputs_read_);
    (void)cudaStreamDestroy(stream_);
  }

  Device device() const override { return Device::kCuda; }

  // Stages the step's token ids and positions in pinned memory; one copy
  // takes them to the device at the start of the pass (upload_inputs), inside
  // a recording, so a replay needs no copy call of its own. The block table
  // is copied here, when its pages changed.
  void begin_step(const int32_t* tokens, int64_t n, const int64_t* positions,
                  const KvSequence* kv) override {
    flush_pending();
    // An eager step's copies may still be queued behind its kernels: the
    // staging is rewritten once they have read it.
    MA_CUDA_CHECK(cudaEventSynchronize(inputs_read_));
    const size_t tb = (static_cast<size_t>(n) * sizeof(int32_t) + 7) / 8 * 8;  // positions aligned
    const size_t pb = static_cast<size_t>(n) * sizeof(int64_t);
    if (staging_in_.grow(tb + pb)) ++generation_;  // a recording copies from it
    auto* pin = static_cast<uint8_t*>(staging_in_.get());
    std::memcpy(pin, tokens, static_cast<size_t>(n) * sizeof(int32_t));
    std::memcpy(pin + tb, positions, pb);
    auto* dev = static_cast<uint8_t*>(grow(inputs_, tb + pb, "token ids and positions"));
    staged_dev_tokens_ = reinterpret_cast<const int32_t*>(dev);
    staged_dev_positions_ = reinterpret_cast<const int64_t*>(dev + tb);
    staged_bytes_ = tb + pb;
    inputs_pending_ = true;
    staged_tokens_ = tokens;
    staged_positions_ = positions;
    staged_n_ = n;
    if (kv != nullptr && !kv->pages.empty() && kv_) {
      kv_->stage_table(kv->pages, stream_, inputs_read_);
      table_staged_ = true;
    }
  }

  // Decode steps run as a CUDA graph: the first one eagerly (it sizes every
  // buffer), the second is recorded, later ones replay the recording. Any
  // buffer reallocation since the recording makes a new one.
  void run_step(StepKind kind, const std::function<void()>& forward) override {
    if (kind == StepKind::kBatch || !graphs_enabled_) {
      upload_inputs();
      forward();
      flush_pending();
      end_step();
      return;
    }
    const int slot = kind == StepKind::kDecodeGreedy ? 1 : 0;
    Recording& graph = graphs_[slot];
    if (graph.exec != nullptr && graph.generation == generation_) {
      inputs_pending_ = false;  // the recording copies them
      trace_replayed(slot);
      MA_CUDA_CHECK(cudaGraphLaunch(graph.exec, stream_));
      finish_download(graph.download);
      end_step();
      return;
    }
    if (!graph.warmed) {
      upload_inputs();
      forward();
      flush_pending();
      graph.warmed = true;
      end_step();
      return;
    }
    record(graph, slot, forward);
    end_step();
  }

  // Pending work may hold buffers, so a reallocation waits for it.
  float* buffer(int id, size_t n) override {
    if (static_cast<size_t>(id) >= ws_.size()) ws_.resize(static_cast<size_t>(id) + 1);
    DeviceBuffer& b = ws_[static_cast<size_t>(id)];
    if (n * sizeof(float) > b.bytes()) flush_pending();
    return static_cast<float*>(grow(b, n * sizeof(float), "scratch"));
  }

  void upload(const float* host, int64_t n, float* dst) override {
    flush_pending();
    quantized_ = {};
    MA_CUDA_CHECK(cudaMemcpyAsync(dst, host, static_cast<size_t>(n) * sizeof(float),
                                  cudaMemcpyHostToDevice, stream_));
  }

  float* host_output(int64_t n) override {
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    if (host_out_.grow(bytes)) ++generation_;  // a recording may copy into it
    host_out_bytes_ = bytes;
    return static_cast<float*>(host_out_.get());
  }

  // Through pinned staging; while recording, the copy into staging is part
  // of the graph and the rest happens after each replay. Into host_output's
  // memory the copy goes directly (on the 8B model's 128256 logits the
  // staging copy took tens of microseconds per token), and when the pending
  // product is what writes `src` (the LM head), that product stores into the
  // pinned memory itself: its writes cross the bus while it runs, where a
  // copy would start only after it (7B decode +0.6%, 8B +0.8%). `src` is then
  // left unwritten; nothing reads the logits on the device after downloading.
  void download(const float* src, int64_t n, float* host) override {
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    const auto* out = static_cast<const uint8_t*>(host_out_.get());
    const auto* h = reinterpret_cast<const uint8_t*>(host);
    const bool to_host_output = out != nullptr && h >= out && h + bytes <= out + host_out_bytes_;
    const bool head_writes_host = to_host_output && pending_ && pending_->g.count == 1 &&
                                  pending_->g.y[0] == src && pending_->g.w[0].out == n;
    if (head_writes_host) pending_->g.y[0] = host;
    flush_pending();
    if (to_host_output) {
      if (!head_writes_host) {
        MA_CUDA_CHECK(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_));
      }
      if (recording_) {
        recorded_download_ = {};
      } else {
        finish_download({});
      }
      return;
    }
    if (staging_out_.grow(bytes)) ++generation_;
    MA_CUDA_CHECK(cudaMemcpyAsync(staging_out_.get(), src, bytes, cudaMemcpyDeviceToHost, stream_));
    const Download d{host, bytes};
    if (recording_) {
      recorded_download_ = d;
    } else {
      finish_download(d);
    }
  }

  void copy(const float* src, int64_t n, float* dst) override {
    flush_pending();
    if (src == dst) return;
    quantized_ = {};
    MA_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float),
                                  cudaMemcpyDeviceToDevice, stream_));
  }

  void embedding(const Weight& table, const int32_t* tokens, int64_t n_tokens, float scale,
                 float* out) override {
    flush_pending();
    quantized_ = {};
    upload_inputs();
    const int32_t* dev_tokens = staged_dev_tokens_;
    if (tokens != staged_tokens_ || n_tokens != staged_n_) {  // a call outside a step
      const size_t bytes = static_cast<size_t>(n_tokens) * sizeof(int32_t);
      dev_tokens = static_cast<const int32_t*>(grow(tokens_, bytes, "token ids"));
      MA_CUDA_CHECK(cudaMemcpyAsync(tokens_.get(), tokens, bytes, cudaMemcpyHostToDevice, stream_));
    }
    if (n_tokens == 1 && tokens == staged_tokens_) {
      // Held back: a decode step's first norm reads it (add_norm).
      pending_embedding_ = PendingEmbedding{{weight(table), dev_tokens, scale}, out};
      return;
    }
    cuda::embedding(weight(table), dev_tokens, n_tokens, scale, out, stream_);
  }

  void norm(NormKind kind, const float* x, const std::vector<float>& w, const std::vector<float>& b,
            int64_t rows, int64_t dim, float eps, float* y) override {
    // Without a residual the kernels only read x.
    add_norm(kind, const_cast<float*>(x), nullptr, w, b, rows, dim, eps, y);
  }

  void add_norm(NormKind kind, float* x, const float* residual, const std::vector<float>& w,
                const std::vector<float>& b, int64_t rows, int64_t dim, float eps,
                float* y) override {
    if (kind == NormKind::kRms && b.empty() && rows == 1 && add_rms_fusable(x, residual, dim, y)) {
      const PendingMatvec p = take_pending();
      // p reads the last written q8 buffer (no op wrote one since it was
      // queued), so its epilogue writes the other.
      const Q8Out q8 = next_q8();
      float* parts = norm_parts(dim);
      matvec_add_rms(p.g, p.in, AddRmsOut{x, vec(w), y, q8, parts}, stream_);
      leave_factor_pending(y, dim, eps, parts, q8);
      return;
    }
    const bool decode_rms = kind == NormKind::kRms && b.empty() && rows == 1 && staged_n_ == 1 &&
                            dim % 32 == 0 && q8_holds(dim) && x != y && y != residual;
    // The step's first norm may read the held-back embedding lookup: then
    // one launch writes both.
    std::optional<EmbeddingRow> lookup;
    if (decode_rms && pending_embedding_ && pending_embedding_->out == x && residual == nullptr &&
        pending_embedding_->row.table.in == dim) {
      lookup = pending_embedding_->row;
      pending_embedding_.reset();
    }
    flush_pending();
    if (decode_rms) {
      // One decode row: spread over the card, the factor left to the
      // product that reads y (a single block's norm was the step's
      // slowest small launch).
      const Q8Out q8 = quantized_output(true, dim);
      float* parts = norm_parts(dim);
      if (lookup) {
        embedding_rms_partial(*lookup, x, vec(w), y, q8, parts, stream_);
      } else {
        rms_partial(x, residual, vec(w), dim, y, q8, parts, stream_);
      }
      leave_factor_pending(y, dim, eps, parts, q8);
      return;
    }
    const Q8Out q8 = quantized_output(rows == 1, dim);
    if (kind == NormKind::kLayer) {
      layer_norm(x, residual, vec(w), b.empty() ? nullptr : vec(b), rows, dim, eps, y, q8, stream_);
    } else {
      rms_norm(x, residual, vec(w), rows, dim, eps, y, q8, stream_);
    }
    if (q8.q != nullptr) quantized_ = {y, dim};
  }

  void matmul(const Weight& w, const float* x, int64_t n_tokens, float* y) override {
    matmul_shared({{&w, y}}, x, n_tokens);
  }

  // Decode: one quantization of the shared input and one launch for all
  // the products, held back for the op after it (pending_); prefill: one
  // cuBLAS product each.
  void matmul_shared(std::initializer_list<Product> products, const float* x,
                     int64_t n_tokens) override {
    flush_matvec();
    bool writes_x = false;
    for (const Product& p : products) {
      if (p.y == quantized_.x) quantized_ = {};
      writes_x = writes_x || p.y == x;
    }
    MatvecGroup g;
    bool one_launch = n_tokens == 1 && products.size() <= MatvecGroup::kMax;
    for (const Product& p : products) {
      const DeviceWeight& dw = weight(*p.w);
      one_launch = one_launch && matvec_fits(dw) && (g.count == 0 || dw.in == g.w[0].in);
      if (g.count < MatvecGroup::kMax) {
        g.w[g.count] = dw;
        g.y[g.count++] = p.y;
      }
    }
    const bool all_q8 = matvec_all_q8_1(g);
    const int64_t in = g.w[0].in;
    // A pending RMS factor of x goes into the products (and the launch
    // writes x normed) when every product reads x's q8 copy.
    MatvecInput input{x, nullptr, nullptr, {}};
    if (pending_rms_ && pending_rms_->rms.y_out == x && one_launch && all_q8 && !writes_x &&
        quantized_.x == x && quantized_.n == in) {
      input.rms = pending_rms_->rms;
      pending_rms_.reset();
      const Q8Out q8 = last_q8();
      input.xq = q8.q;
      input.xs = q8.s;
      pending_ = PendingMatvec{g, input};
      quantized_ = {};  // the q8 copy lacks the factor
      return;
    }
    flush_rms();
    if (!one_launch) {
      for (const Product& p : products) gemm_->run(weight(*p.w), x, n_tokens, p.y);
      return;
    }
    const bool needs_q8 = std::any_of(
        g.w, g.w + g.count, [](const DeviceWeight& w) { return matvec_needs_q8_1(w.type); });
    if (needs_q8 && !(quantized_.x == x && quantized_.n == in)) {
      reserve_q8(in);
      const Q8Out q8 = next_q8();
      quantize_q8_1(x, 1, in, q8.q, q8.s, stream_);
      quantized_ = {x, in};
    }
    if (needs_q8) {
      const Q8Out q8 = last_q8();
      input.xq = q8.q;
      input.xs = q8.s;
    }
    pending_ = PendingMatvec{g, input};
  }

  void add(float* y, const float* x, int64_t n) override {
    flush_pending();
    quantized_ = {};
    cuda::add(y, x, n, stream_);
  }

  void add_bias(float* y, const std::vector<float>& bias, int64_t rows, int64_t dim) override {
    flush_pending();
    quantized_ = {};
    cuda::add_bias(y, vec(bias), rows, dim, stream_);
  }

  void gated(GateActivation act, float* gate, const float* up, int64_t n) override {
    if (gated_fusable(gate, up, n)) {
      // The pending gate/up launch reads the last q8 buffer; the
      // activation's copy goes to the other.
      if (matvec_gated(pending_->g, pending_->in, act, other_q8(), stream_)) {
        pending_.reset();
        next_q8();
        quantized_ = {gate, n};
        return;
      }
    }
    flush_pending();
    const Q8Out q8 = quantized_output(staged_n_ == 1, n);
    cuda::gated(act, gate, up, n, q8, stream_);
    if (q8.q != nullptr) quantized_ = {gate, n};
  }

  void argmax(const float* x, int64_t n, int32_t* host) override {
    flush_pending();
    auto* slot = static_cast<float*>(grow(argmax_, sizeof(float), "the greedy token"));
    cuda::argmax(x, n, reinterpret_cast<int32_t*>(slot), stream_);
    download(slot, 1, reinterpret_cast<float*>(host));  // the int's 4 bytes, as they are
  }

  void softcap(float* x, int64_t n, float cap) override {
    flush_pending();
    quantized_ = {};
    cuda::softcap(x, n, cap, stream_);
  }

  void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int64_t* positions,
            const RopeParams& p) override {
    flush_pending();
    quantized_ = {};
    cuda::rope(x, n_tokens, n_heads, head_dim, rope_device(p),
               device_positions(positions, n_tokens), stream_);
  }

  void attention(const AttentionStep& step, float* q, float* k, const float* v,
                 float* out) override {
    const bool fuse = qkv_fusable(step, q, k, v);
    if (!fuse) flush_pending();
    quantized_ = {};
    const ref::AttentionShape& shape = *step.shape;
    const int64_t n = step.n_tokens;
    const int64_t* positions = device_positions(step.positions, n);
    if (!kv_) throw Error("CUDA attention: the backend was made without a KV cache");
    if (!table_staged_) kv_->sync_table(step.state->kv_seq.pages, stream_);
    const KvLayerDevice& layer = kv_->layer(step.layer);
    if (fuse) {
      const PendingMatvec p = take_pending();
      matvec_qkv_rope(p.g, p.in, QkvRope{layer, rope_device(*step.rope), positions, shape.head_dim},
                      stream_);
    } else if (step.rope != nullptr) {
      rope_store(layer, q, k, v, n, shape.n_head, shape.n_head_kv, shape.head_dim,
                 rope_device(*step.rope), positions, stream_);
    } else {
      kv_store(layer, k, v, n, positions, stream_);
    }
    // A decode step's output also goes out as int8 for the o projection.
    const int64_t dim = shape.n_head * shape.head_dim;
    const Q8Out q8 = quantized_output(n == 1 && shape.head_dim % 32 == 0, dim);
    cuda::attention(layer, q, n, positions, shape, split_scratch(layer, n, shape), out, q8,
                    stream_);
    if (q8.q != nullptr) quantized_ = {out, dim};
  }

 private:
  // A decode step's matvec group (one launch) waits for the op after it,
  // which may take it with an epilogue (a launch fewer): the attention
  // reading q, k, v (RoPE and the KV store), add_norm adding a one-weight
  // product to the residual stream (the add and the RMSNorm). Any other op
  // launches it as it is first.
  struct PendingMatvec {
    MatvecGroup g;
    MatvecInput in;
  };
  // After a fused add_norm, its output without the RMS factor: the next
  // matvec reading it takes the factor; before any other op, rms_finish.
  struct PendingNorm {
    PendingRms rms;
    Q8Out q8;
  };
  // A decode step's embedding lookup, launched with the norm after it.
  struct PendingEmbedding {
    EmbeddingRow row;
    float* out;
  };

  PendingMatvec take_pending() {
    const PendingMatvec p = *pending_;
    pending_.reset();
    return p;
  }

  void flush_embedding() {
    if (!pending_embedding_) return;
    const PendingEmbedding e = *pending_embedding_;
    pending_embedding_.reset();
    cuda::embedding(e.row.table, e.row.token, 1, e.row.scale, e.out, stream_);
  }

  // The embedding goes first: a product queued after it may read it.
  void flush_matvec() {
    flush_embedding();
    if (!pending_) return;
    const PendingMatvec p = take_pending();
    matvec(p.g, p.in, stream_);
  }

  void flush_rms() {
    if (!pending_rms_) return;
    rms_finish(pending_rms_->rms, pending_rms_->q8, stream_);
    pending_rms_.reset();
  }

  void flush_pending() {
    flush_matvec();
    flush_rms();
  }

  bool qkv_fusable(const AttentionStep& step, const float* q, const float* k,
                   const float* v) const {
    if (!pending_ || pending_->g.count != 3 || step.rope == nullptr || step.n_tokens != 1) {
      return false;
    }
    const ref::AttentionShape& sh = *step.shape;
    const MatvecGroup& g = pending_->g;
    return step.rope->mode != RopeMode::kNeox && sh.head_dim % 4 == 0 && g.y[0] == q &&
           g.y[1] == k && g.y[2] == v && g.w[0].out == sh.n_head * sh.head_dim &&
           g.w[1].out == sh.n_head_kv * sh.head_dim && g.w[2].out == g.w[1].out &&
           (matvec_one_type(g) || matvec_all_q8_1(g));
  }

  // The pending launch is the gate and up products of one decode token
  // into exactly these buffers.
  bool gated_fusable(const float* gate, const float* up, int64_t n) const {
    if (!pending_ || staged_n_ != 1 || n % 32 != 0 || !q8_holds(n)) return false;
    const MatvecGroup& g = pending_->g;
    return g.count == 2 && g.y[0] == gate && g.y[1] == up && g.w[0].out == n && g.w[1].out == n &&
           pending_->in.x != gate && pending_->in.x != up;
  }

  // The pending product is the residual, one quantized weight of dim
  // outputs, and its launch neither reads nor writes the norm's buffers
  // (its own input's pending factor would share the partials).
  bool add_rms_fusable(const float* x, const float* residual, int64_t dim, const float* y) const {
    if (!pending_ || pending_rms_ || pending_->g.count != 1 || dim % 32 != 0 || !q8_holds(dim)) {
      return false;
    }
    const PendingMatvec& p = *pending_;
    return p.g.y[0] == residual && p.g.w[0].out == dim && matvec_needs_q8_1(p.g.w[0].type) &&
           p.in.rms.parts == nullptr && x != y && x != residual && y != residual && y != p.in.x;
  }

  struct Download {
    float* host = nullptr;
    size_t bytes = 0;
  };
  struct Recording {
    cudaGraphExec_t exec = nullptr;
    uint64_t generation = 0;
    Download download;
    bool warmed = false;  // run once eagerly (it sizes every buffer)
  };

  // Grows a device buffer; a reallocation invalidates any recording.
  void* grow(DeviceBuffer& b, size_t bytes, const char* what) {
    if (bytes > b.bytes()) {
      if (recording_) throw Error(std::string("CUDA: ") + what + " grew while recording a step");
      ++generation_;
    }
    return b.grow(bytes, what);
  }

  void finish_download(const Download& d) {
    MA_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (d.host != nullptr) std::memcpy(d.host, staging_out_.get(), d.bytes);
  }

  void end_step() {
    inputs_pending_ = false;
    staged_tokens_ = nullptr;
    staged_positions_ = nullptr;
    staged_n_ = 0;
    table_staged_ = false;
  }

  void record(Recording& rec, int slot, const std::function<void()>& forward) {
    if (rec.exec != nullptr) {
      MA_CUDA_CHECK(cudaGraphExecDestroy(rec.exec));
      rec.exec = nullptr;
    }
    recorded_download_ = {};
    cudaGraph_t graph = nullptr;
    MA_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    recording_ = true;
    try {
      upload_inputs();
      forward();
      flush_pending();
    } catch (...) {
      pending_.reset();
      pending_rms_.reset();
      pending_embedding_.reset();
      recording_ = false;
      (void)cudaStreamEndCapture(stream_, &graph);
      if (graph != nullptr) (void)cudaGraphDestroy(graph);
      throw;
    }
    recording_ = false;
    MA_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    const cudaError_t err = cudaGraphInstantiate(&rec.exec, graph, 0);
    (void)cudaGraphDestroy(graph);
    MA_CUDA_CHECK(err);
    rec.generation = generation_;
    rec.download = recorded_download_;
    trace_recorded(slot);
    trace_replayed(slot);
    MA_CUDA_CHECK(cudaGraphLaunch(rec.exec, stream_));
    finish_download(rec.download);
  }

  // The positions on the device: the step's, staged by begin_step, or for a
  // call outside a step (the op tests) copied now.
  const int64_t* device_positions(const int64_t* host, int64_t n) {
    if (host == staged_positions_ && n == staged_n_) {
      upload_inputs();
      return staged_dev_positions_;
    }
    const size_t bytes = static_cast<size_t>(n) * sizeof(int64_t);
    grow(positions_, bytes, "positions");
    MA_CUDA_CHECK(cudaMemcpyAsync(positions_.get(), host, bytes, cudaMemcpyHostToDevice, stream_));
    return static_cast<const int64_t*>(positions_.get());
  }

  // The staged token ids and positions to the device, once per step: at the
  // start of the pass, or at the first op that reads them when ops are
  // called outside run_step.
  void upload_inputs() {
    if (!inputs_pending_) return;
    inputs_pending_ = false;
    MA_CUDA_CHECK(cudaMemcpyAsync(inputs_.get(), staging_in_.get(), staged_bytes_,
                                  cudaMemcpyHostToDevice, stream_));
    if (!recording_) MA_CUDA_CHECK(cudaEventRecord(inputs_read_, stream_));
  }

  const DeviceWeight& weight(const Weight& w) { return store_.weight(w); }
  const float* vec(const std::vector<float>& v) { return store_.vector(v); }

  // The 16-byte loads of the matvec kernels need rows that start aligned.
  static bool matvec_fits(const DeviceWeight& w) {
    switch (w.type) {
      case GgmlType::F32:
        return w.in % 4 == 0;
      case GgmlType::F16:
      case GgmlType::BF16:
        return w.in % 8 == 0;
      default:
        return true;  // block types: whole 32-element blocks
    }
  }

  // Grows both q8_1 activation buffers to n floats' worth: which one a
  // step's op writes depends on the ops before it. Only with nothing
  // pending (a pending launch may read either).
  void reserve_q8(int64_t n) {
    for (int k : {0, 1}) {
      grow(act_q_[k], static_cast<size_t>(n), "activations");
      grow(act_s_[k], static_cast<size_t>(n / 32) * 2 * sizeof(float), "activations");
    }
  }
  bool q8_holds(int64_t n) const { return act_q_[0].bytes() >= static_cast<size_t>(n); }
  Q8Out q8_buffer(int k) {
    return {static_cast<int8_t*>(act_q_[k].get()), static_cast<float*>(act_s_[k].get())};
  }
  // The q8_1 buffer written last, the other one, and the other one made the last.
  Q8Out last_q8() { return q8_buffer(q8_slot_); }
  Q8Out other_q8() { return q8_buffer(1 - q8_slot_); }
  Q8Out next_q8() {
    q8_slot_ = 1 - q8_slot_;
    return last_q8();
  }

  // The group sums of a decode row's RMSNorm whose factor is left pending.
  float* norm_parts(int64_t dim) {
    return static_cast<float*>(
        grow(rms_parts_, static_cast<size_t>(dim / 32) * sizeof(float), "norm partials"));
  }
  // y and its q8 copy hold x * w; the factor waits for the op that reads y.
  void leave_factor_pending(float* y, int64_t dim, float eps, const float* parts, Q8Out q8) {
    quantized_ = {y, dim};
    pending_rms_ = PendingNorm{PendingRms{parts, dim, eps, y}, q8};
  }

  // Where an op producing one row of `dim` floats (a decode step) also
  // writes their q8_1 copy for the matvec that reads them next; prefill
  // multiplies on cuBLAS and needs none.
  Q8Out quantized_output(bool decode, int64_t dim) {
    quantized_ = {};
    if (!decode || dim % 32 != 0) return {};
    reserve_q8(dim);
    return next_q8();
  }

  // The partials and counters of a split decode step, grown to the largest
  // need (the counters start at zero; each step leaves them at zero).
  AttentionScratch split_scratch(const KvLayerDevice& kv, int64_t n,
                                 const ref::AttentionShape& shape) {
    const DecodeSplit split = decode_split(kv, n);
    if (split.n_splits <= 1) return {};
    const size_t bytes =
        static_cast<size_t>(shape.n_head * split.n_splits * (shape.head_dim + 2)) * 8;
    if (bytes > split_partial_.bytes()) {
      grow(split_partial_, bytes, "attention");
      MA_CUDA_CHECK(cudaMemsetAsync(split_partial_.get(), 0, bytes, stream_));
    }
    return {static_cast<uint64_t*>(split_partial_.get())};
  }

  RopeDevice rope_device(const RopeParams& p) {
    const RopeTable& rt = store_.rope(p);
    RopeDevice r;
    r.n_dims = p.n_dims;
    r.neox = p.mode == RopeMode::kNeox;
    r.rates = rt.rates;
    r.mscale = rt.mscale;
    return r;
  }

  cudaStream_t stream_ = nullptr;
  std::unique_ptr<PrefillGemm> gemm_;  // prefill products (cuBLAS) on stream_
  DeviceStore store_;
  std::vector<DeviceBuffer> ws_;
  // The step's inputs: pinned staging and their device copies.
  PinnedBuffer staging_in_, staging_out_;
  PinnedBuffer host_out_;  // host_output
  size_t host_out_bytes_ = 0;
  DeviceBuffer positions_;
  const int32_t* staged_tokens_ = nullptr;
  const int64_t* staged_positions_ = nullptr;
  int64_t staged_n_ = 0;
  DeviceBuffer inputs_;  // the staged token ids, then (8-byte aligned) positions
  const int32_t* staged_dev_tokens_ = nullptr;
  const int64_t* staged_dev_positions_ = nullptr;
  size_t staged_bytes_ = 0;
  bool inputs_pending_ = false;        // staged, not yet copied
  cudaEvent_t inputs_read_ = nullptr;  // after the last eager copy from staging
  bool table_staged_ = false;
  // Decode recording (CUDA graph); MA_CUDA_GRAPHS=0 turns it off.
  bool graphs_enabled_ = graphs_from_env();
  bool recording_ = false;
  uint64_t generation_ = 0;  // counts buffer reallocations
  std::optional<PendingMatvec> pending_;
  std::optional<PendingNorm> pending_rms_;
  std::optional<PendingEmbedding> pending_embedding_;
  Recording graphs_[2];  // decode with logits out; greedy decode
  Download recorded_download_;
  DeviceBuffer tokens_, argmax_, split_partial_;
  DeviceBuffer rms_parts_;
  // Two q8_1 activation buffers, so a kernel reading one may write its
  // output's copy to the other; q8_slot_ is the one written last.
  DeviceBuffer act_q_[2], act_s_[2];
  int q8_slot_ = 0;
  // The float buffer (n floats) whose q8_1 copy the last written buffer
  // holds (its producer wrote both); every other op that writes clears it.
  struct Quantized {
    const float* x = nullptr;
    int64_t n = 0;
  };
  Quantized quantized_;
  std::optional<DeviceKv> kv_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend(const Model* model, const KvCache* kv) {
  std::string why;
  if (!cuda_available(&why)) throw Error(why);
  return std::make_unique<cuda::CudaBackend>(model, kv);
}

}  // namespace ma
