#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/device_store.h"
#include "backend/cuda/kernels.h"
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
    MA_CUDA_CHECK(cublasCreate(&blas_));
    MA_CUDA_CHECK(cublasSetStream(blas_, stream_));
    if (kv != nullptr) allocate_kv(*kv);
    if (model != nullptr) {
      weight(model->embedding());
      model->for_each_matmul_weight([&](const Weight& w) { weight(w); });
    }
  }

  ~CudaBackend() override {
    (void)cudaStreamSynchronize(stream_);
    for (Recording& g : graphs_) {
      if (g.exec != nullptr) (void)cudaGraphExecDestroy(g.exec);
    }
    (void)cublasDestroy(blas_);
    (void)cudaStreamDestroy(stream_);
  }

  Device device() const override { return Device::kCuda; }

  // Copies the step's inputs to the device ahead of the pass, through
  // pinned staging, so a replayed recording finds them where it reads them.
  void begin_step(const int32_t* tokens, int64_t n, const int64_t* positions,
                  const KvSequence* kv) override {
    flush_pending();
    const size_t tb = static_cast<size_t>(n) * sizeof(int32_t);
    const size_t pb = static_cast<size_t>(n) * sizeof(int64_t);
    staging_in_.grow(tb + pb);
    auto* pin = static_cast<uint8_t*>(staging_in_.get());
    std::memcpy(pin, tokens, tb);
    std::memcpy(pin + tb, positions, pb);
    MA_CUDA_CHECK(
        cudaMemcpyAsync(grow(tokens_, tb, "token ids"), pin, tb, cudaMemcpyHostToDevice, stream_));
    MA_CUDA_CHECK(cudaMemcpyAsync(grow(positions_, pb, "positions"), pin + tb, pb,
                                  cudaMemcpyHostToDevice, stream_));
    staged_tokens_ = tokens;
    staged_positions_ = positions;
    staged_n_ = n;
    if (kv != nullptr && !kv->pages.empty()) {
      const size_t bytes = kv->pages.size() * sizeof(int32_t);
      staging_table_.grow(table_.bytes());
      std::memcpy(staging_table_.get(), kv->pages.data(), bytes);
      MA_CUDA_CHECK(cudaMemcpyAsync(table_.get(), staging_table_.get(), bytes,
                                    cudaMemcpyHostToDevice, stream_));
      table_staged_ = true;
    }
  }

  // Decode steps run as a CUDA graph: the first one eagerly (it sizes every
  // buffer), the second is recorded, later ones replay the recording. Any
  // buffer reallocation since the recording makes a new one.
  void run_step(StepKind kind, const std::function<void()>& forward) override {
    if (kind == StepKind::kBatch || !graphs_enabled_) {
      forward();
      flush_pending();
      end_step();
      return;
    }
    const int slot = kind == StepKind::kDecodeGreedy ? 1 : 0;
    Recording& graph = graphs_[slot];
    if (graph.exec != nullptr && graph.generation == generation_) {
      trace_replayed(slot);
      MA_CUDA_CHECK(cudaGraphLaunch(graph.exec, stream_));
      finish_download(graph.download);
      end_step();
      return;
    }
    if (!graph.warmed) {
      forward();
      flush_pending();
      graph.warmed = true;
      end_step();
      return;
    }
    record(graph, slot, forward);
    end_step();
  }

  float* buffer(int id, size_t n) override {
    flush_pending();
    if (static_cast<size_t>(id) >= ws_.size()) ws_.resize(static_cast<size_t>(id) + 1);
    return static_cast<float*>(grow(ws_[static_cast<size_t>(id)], n * sizeof(float), "scratch"));
  }

  void upload(const float* host, int64_t n, float* dst) override {
    flush_pending();
    quantized_ = {};
    MA_CUDA_CHECK(cudaMemcpyAsync(dst, host, static_cast<size_t>(n) * sizeof(float),
                                  cudaMemcpyHostToDevice, stream_));
  }

  // Through pinned staging; while recording, the copy into staging is part
  // of the graph and the rest happens after each replay.
  void download(const float* src, int64_t n, float* host) override {
    flush_pending();
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
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
    const int32_t* dev_tokens = static_cast<const int32_t*>(tokens_.get());
    if (tokens != staged_tokens_ || n_tokens != staged_n_) {  // a call outside a step
      const size_t bytes = static_cast<size_t>(n_tokens) * sizeof(int32_t);
      dev_tokens = static_cast<const int32_t*>(grow(tokens_, bytes, "token ids"));
      MA_CUDA_CHECK(cudaMemcpyAsync(tokens_.get(), tokens, bytes, cudaMemcpyHostToDevice, stream_));
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
    flush_pending();
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
  // the products; prefill: one cuBLAS product each.
  void matmul_shared(std::initializer_list<Product> products, const float* x,
                     int64_t n_tokens) override {
    flush_pending();
    for (const Product& p : products) {
      if (p.y == quantized_.x) quantized_ = {};
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
    if (!one_launch) {
      for (const Product& p : products) gemm(weight(*p.w), x, n_tokens, p.y);
      return;
    }
    const bool needs_q8 = std::any_of(
        g.w, g.w + g.count, [](const DeviceWeight& w) { return matvec_needs_q8_1(w.type); });
    const int64_t in = g.w[0].in;
    if (needs_q8 && !(quantized_.x == x && quantized_.n == in)) {
      const Q8Out q8 = q8_buffer(in);
      quantize_q8_1(x, 1, in, q8.q, q8.s, stream_);
      quantized_ = {x, in};
    }
    const Q8Out q8 = needs_q8 ? Q8Out{act_q(), act_s()} : Q8Out{};
    if (g.count == 3) {  // q, k, v: see pending_qkv_
      pending_qkv_ = PendingQkv{g, x, q8};
      return;
    }
    matvec(g, x, q8.q, q8.s, stream_);
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
    if (!table_staged_) sync_block_table(step.state->kv_seq);
    const KvLayerDevice& layer = kv_layers_.at(static_cast<size_t>(step.layer));
    if (fuse) {
      const PendingQkv p = *pending_qkv_;
      pending_qkv_.reset();
      matvec_qkv_rope(p.g, p.x, p.q8.q, p.q8.s,
                      QkvRope{layer, rope_device(*step.rope), positions, shape.head_dim}, stream_);
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
  // A decode step's q, k, v products (one launch) wait for the op after
  // them: when that is the attention reading them, one kernel computes them
  // with RoPE and the KV store as its epilogue (a launch fewer per layer);
  // any other op launches them as they are first.
  struct PendingQkv {
    MatvecGroup g;
    const float* x = nullptr;
    Q8Out q8;
  };

  void flush_pending() {
    if (!pending_qkv_) return;
    const PendingQkv p = *pending_qkv_;
    pending_qkv_.reset();
    matvec(p.g, p.x, p.q8.q, p.q8.s, stream_);
  }

  bool qkv_fusable(const AttentionStep& step, const float* q, const float* k,
                   const float* v) const {
    if (!pending_qkv_ || step.rope == nullptr || step.n_tokens != 1) return false;
    const ref::AttentionShape& sh = *step.shape;
    const MatvecGroup& g = pending_qkv_->g;
    return step.rope->mode != RopeMode::kNeox && sh.head_dim % 4 == 0 && g.y[0] == q &&
           g.y[1] == k && g.y[2] == v && g.w[0].out == sh.n_head * sh.head_dim &&
           g.w[1].out == sh.n_head_kv * sh.head_dim && g.w[2].out == g.w[1].out &&
           g.w[1].type == g.w[0].type && g.w[2].type == g.w[0].type;
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
      forward();
      flush_pending();
    } catch (...) {
      pending_qkv_.reset();
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
    if (host != staged_positions_ || n != staged_n_) {
      const size_t bytes = static_cast<size_t>(n) * sizeof(int64_t);
      grow(positions_, bytes, "positions");
      MA_CUDA_CHECK(
          cudaMemcpyAsync(positions_.get(), host, bytes, cudaMemcpyHostToDevice, stream_));
    }
    return static_cast<const int64_t*>(positions_.get());
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

  // The q8_1 activation buffers, grown to hold n floats.
  Q8Out q8_buffer(int64_t n) {
    auto* q = static_cast<int8_t*>(grow(act_q_, static_cast<size_t>(n), "activations"));
    auto* s = static_cast<float*>(
        grow(act_s_, static_cast<size_t>(n / 32) * 2 * sizeof(float), "activations"));
    return {q, s};
  }
  int8_t* act_q() { return static_cast<int8_t*>(act_q_.get()); }
  float* act_s() { return static_cast<float*>(act_s_.get()); }

  // Where an op producing one row of `dim` floats (a decode step) also
  // writes their q8_1 copy for the matvec that reads them next; prefill
  // multiplies on cuBLAS and needs none.
  Q8Out quantized_output(bool decode, int64_t dim) {
    quantized_ = {};
    if (!decode || dim % 32 != 0) return {};
    return q8_buffer(dim);
  }

  // The partials and counters of a split decode step, grown to the largest
  // need (the counters start at zero; each step leaves them at zero).
  AttentionScratch split_scratch(const KvLayerDevice& kv, int64_t n,
                                 const ref::AttentionShape& shape) {
    const DecodeSplit split = decode_split(kv, n);
    if (split.n_splits <= 1) return {};
    const size_t floats = static_cast<size_t>(shape.n_head * split.n_splits * (shape.head_dim + 2));
    const size_t counters = static_cast<size_t>(shape.n_head) * sizeof(int);
    auto* partial = static_cast<float*>(grow(split_partial_, floats * sizeof(float), "attention"));
    if (counters > split_done_.bytes()) {
      grow(split_done_, counters, "attention");
      MA_CUDA_CHECK(cudaMemsetAsync(split_done_.get(), 0, counters, stream_));
    }
    return {partial, static_cast<int*>(split_done_.get())};
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

  // y [n x out] = x [n x in] W^T on cuBLAS: W is column-major [in x out]
  // (lda = in), x column-major [in x n], y column-major [out x n].
  void gemm(const DeviceWeight& w, const float* x, int64_t n, float* y) {
    const float alpha = 1.0f, beta = 0.0f;
    const int m = static_cast<int>(w.out), nn = static_cast<int>(n), k = static_cast<int>(w.in);
    if (w.type == GgmlType::F32) {
      MA_CUDA_CHECK(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, m, nn, k, &alpha,
                                static_cast<const float*>(w.q), k, x, k, &beta, y, m));
      return;
    }
    const bool bf16 = w.type == GgmlType::BF16;
    const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
    auto* xh = static_cast<uint16_t*>(grow(act_h_, static_cast<size_t>(n * k) * 2, "activations"));
    if (bf16) {
      to_bf16(x, n * k, xh, stream_);
    } else {
      to_f16(x, n * k, xh, stream_);
    }
    const void* wh = w.q;
    if (w.type != GgmlType::F16 && w.type != GgmlType::BF16) {  // quantized: dequantize
      auto* tmp = static_cast<uint16_t*>(
          grow(dequant_, static_cast<size_t>(w.in * w.out) * 2, "dequantized weights"));
      dequantize_f16(w, tmp, stream_);
      wh = tmp;
    }
    MA_CUDA_CHECK(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, m, nn, k, &alpha, wh, type, k, xh,
                               type, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
  }

  void allocate_kv(const KvCache& kv) {
    const bool f16 = kv.type() == KvType::kF16;
    const size_t elem = f16 ? 2 : 4;
    const size_t rows = static_cast<size_t>(kv.n_pages() * kv.page_size());
    auto* table = static_cast<int32_t*>(
        table_.grow(static_cast<size_t>(kv.n_pages()) * sizeof(int32_t), "the KV block table"));
    for (int64_t l = 0; l < kv.n_layers(); ++l) {
      const size_t bytes = rows * static_cast<size_t>(kv.row_elems(l)) * elem;
      kv_storage_.emplace_back(bytes, "the KV cache");
      kv_storage_.emplace_back(bytes, "the KV cache");
      KvLayerDevice d;
      d.k = kv_storage_[kv_storage_.size() - 2].get();
      d.v = kv_storage_.back().get();
      d.block_table = table;
      d.page_size = kv.page_size();
      d.row_elems = kv.row_elems(l);
      d.capacity = static_cast<int64_t>(rows);
      d.f16 = f16;
      kv_layers_.push_back(d);
    }
  }

  // The sequence's block table, copied when its pages changed.
  void sync_block_table(const KvSequence& seq) {
    if (seq.pages == table_host_) return;
    table_host_ = seq.pages;
    MA_CUDA_CHECK(cudaMemcpyAsync(table_.get(), table_host_.data(),
                                  table_host_.size() * sizeof(int32_t), cudaMemcpyHostToDevice,
                                  stream_));
  }

  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  DeviceStore store_;
  std::vector<DeviceBuffer> ws_;
  // The step's inputs: pinned staging and their device copies.
  PinnedBuffer staging_in_, staging_table_, staging_out_;
  DeviceBuffer positions_;
  const int32_t* staged_tokens_ = nullptr;
  const int64_t* staged_positions_ = nullptr;
  int64_t staged_n_ = 0;
  bool table_staged_ = false;
  // Decode recording (CUDA graph); MA_CUDA_GRAPHS=0 turns it off.
  bool graphs_enabled_ = graphs_from_env();
  bool recording_ = false;
  uint64_t generation_ = 0;  // counts buffer reallocations
  std::optional<PendingQkv> pending_qkv_;
  Recording graphs_[2];  // decode with logits out; greedy decode
  Download recorded_download_;
  DeviceBuffer tokens_, act_q_, act_s_, act_h_, dequant_, argmax_, split_partial_, split_done_;
  // The float buffer (n floats) whose q8_1 copy act_q_ / act_s_ hold (its
  // producer wrote both); every other op that writes clears it.
  struct Quantized {
    const float* x = nullptr;
    int64_t n = 0;
  };
  Quantized quantized_;
  std::vector<DeviceBuffer> kv_storage_;
  std::vector<KvLayerDevice> kv_layers_;
  DeviceBuffer table_;
  std::vector<int32_t> table_host_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend(const Model* model, const KvCache* kv) {
  std::string why;
  if (!cuda_available(&why)) throw Error(why);
  return std::make_unique<cuda::CudaBackend>(model, kv);
}

}  // namespace ma
