// A loaded model: hyperparameters, layer schedule, and the layers' blocks
// with their weights viewed in place in the mapped GGUF file. Architecture
// files (src/archs/) build it; nothing else knows the architecture.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/weight.h"
#include "blocks/sequence_block.h"
#include "core/huge_buffer.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"
#include "model/layer_schedule.h"
#include "tokenizer/tokenizer.h"

namespace ma {

struct Layer {
  // [n_embd] norm weight before the mixer; empty: the mixer reads the raw
  // residual stream and normalises itself (Zamba-2's hybrid layers).
  std::vector<float> mixer_norm;
  std::unique_ptr<SequenceBlock> mixer;
  std::vector<float> ffn_norm;  // [n_embd]; empty when the layer has no FFN
  std::unique_ptr<FeedForward> ffn;
  // [n_embd] LayerNorm biases (Hparams::norm == kLayer), or empty for none.
  std::vector<float> mixer_norm_bias, ffn_norm_bias;
  int64_t state_slot = 0;      // KV layers: index among them; recurrent ones: recurrent_slot
  int64_t recurrent_slot = 0;  // index among layers that keep fixed state
};

class Model {
 public:
  Model(gguf::File file, Hparams hp);

  const gguf::File& file() const { return file_; }
  const Hparams& hparams() const { return hp_; }
  const LayerSchedule& schedule() const { return schedule_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

  // Set by the architecture file while building.
  void add_layer(Layer layer);
  void set_embedding(Weight tok_embd, float scale = 1.0f);
  // A norm applied to the embeddings before the first layer (RWKV's ln0).
  void set_embedding_norm(std::vector<float> weight, std::vector<float> bias = {});
  // The output norm's bias (Hparams::norm == kLayer).
  void set_output_norm_bias(std::vector<float> bias);
  void set_head(std::vector<float> output_norm, Weight output, float logit_softcap = 0.0f);

  // Copies Q4_0 and Q8_0 matmul weights into the CPU's 8-row interleaved layouts (in
  // huge-page memory); returns the bytes repacked. Embedding lookups keep
  // using the file's rows.
  size_t repack_for_cpu();

  // Row sizes of the KV cache, one per attention layer, in depth order.
  std::vector<int64_t> kv_row_elems() const;
  // Bytes of recurrent state, one per fixed-state layer, in depth order.
  std::vector<size_t> recurrent_slot_bytes() const;

  // Empty when every layer has kernels for `device`; otherwise why not.
  std::string unsupported_on(Device device) const;
  // The embedding table and every matmul weight of layers that can run off
  // the CPU, and the output head (what a device backend uploads).
  const Weight& embedding() const { return tok_embd_; }
  void for_each_matmul_weight(const ConstWeightVisitor& visit) const;

  // Throws ma::Error naming the first token id outside the vocabulary.
  void check_tokens(const int32_t* tokens, int64_t n) const;

  // Runs n tokens of one sequence at ctx.positions through the model and
  // writes logits: [n x n_vocab] if all_logits, else the last token's [n_vocab].
  void forward(ForwardContext& ctx, const int32_t* tokens, float* logits, bool all_logits) const;

 private:
  // The model's norm (Hparams::norm) over rows of n_embd; x and y may alias.
  void norm(Backend& be, const float* x, const std::vector<float>& weight,
            const std::vector<float>& bias, int64_t rows, float* y) const;

  gguf::File file_;
  Hparams hp_;
  LayerSchedule schedule_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<Layer> layers_;
  Weight tok_embd_;
  float embd_scale_ = 1.0f;
  std::vector<float> embd_norm_, embd_norm_bias_;
  bool keeps_embeddings_ = false;  // some layer reads ForwardContext::embeddings
  std::vector<float> output_norm_, output_norm_bias_;
  Weight output_;
  float logit_softcap_ = 0.0f;
  std::vector<std::unique_ptr<HugeBuffer>> repacked_;
};

}  // namespace ma
