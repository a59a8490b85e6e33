#include "model/model.h"

#include <cmath>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "backend/cpu/q4_0x8.h"
#include "core/error.h"

namespace ma {

Model::Model(gguf::File file, Hparams hp)
    : file_(std::move(file)), hp_(std::move(hp)), tokenizer_(Tokenizer::from_gguf(file_)) {
  if (static_cast<int64_t>(tokenizer_->n_vocab()) != hp_.n_vocab) {
    throw Error(file_.label() + ": the vocabulary has " + std::to_string(tokenizer_->n_vocab()) +
                " tokens but the model's embedding has " + std::to_string(hp_.n_vocab) + " rows");
  }
}

void Model::add_layer(Layer layer) {
  std::vector<MixerKind> kinds;
  for (int64_t i = 0; i < schedule_.size(); ++i) kinds.push_back(schedule_[i]);
  int64_t slot = 0;
  const StateFamily family = layer.mixer->state_spec().family;
  for (const auto& l : layers_) slot += l.mixer->state_spec().family == family;
  layer.state_slot = slot;
  kinds.push_back(layer.mixer->kind());
  schedule_ = LayerSchedule(std::move(kinds));
  layers_.push_back(std::move(layer));
}

void Model::set_embedding(Weight tok_embd, float scale) {
  tok_embd_ = tok_embd;
  embd_scale_ = scale;
}

void Model::set_head(std::vector<float> output_norm, Weight output, float logit_softcap) {
  output_norm_ = std::move(output_norm);
  output_ = output;
  logit_softcap_ = logit_softcap;
}

size_t Model::repack_for_cpu() {
  size_t bytes = 0;
  const WeightVisitor repack = [&](Weight& w) {
    if (!cpu::can_repack_q4_0x8(w)) return;
    const size_t n = w.row_bytes * static_cast<size_t>(w.out);
    auto buffer = std::make_unique<HugeBuffer>(n);
    cpu::repack_q4_0x8(w, buffer->data());
    w.data = buffer->data();
    w.layout = WeightLayout::kQ4_0x8;
    repacked_.push_back(std::move(buffer));
    bytes += n;
  };
  for (Layer& layer : layers_) {
    layer.mixer->visit_matmul_weights(repack);
    if (layer.ffn) layer.ffn->visit_matmul_weights(repack);
  }
  repack(output_);
  return bytes;
}

std::vector<int64_t> Model::kv_row_elems() const {
  std::vector<int64_t> rows;
  for (const auto& l : layers_) {
    const StateSpec spec = l.mixer->state_spec();
    if (spec.family == StateFamily::kKvCache) rows.push_back(spec.kv_row_elems);
  }
  return rows;
}

std::vector<size_t> Model::recurrent_slot_bytes() const {
  std::vector<size_t> slots;
  for (const auto& l : layers_) {
    const StateSpec spec = l.mixer->state_spec();
    if (spec.family == StateFamily::kFixed) slots.push_back(spec.fixed_bytes);
  }
  return slots;
}

void Model::forward(ForwardContext& ctx, const int32_t* tokens, float* logits,
                    bool all_logits) const {
  const int64_t n = ctx.n_tokens;
  const int64_t e = hp_.n_embd;
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= hp_.n_vocab) {
      throw Error("token id " + std::to_string(tokens[t]) + " is out of range (vocabulary of " +
                  std::to_string(hp_.n_vocab) + ")");
    }
  }
  float* x = ctx.ws.get(kWsResidual, static_cast<size_t>(n * e));
  float* xn = ctx.ws.get(kWsNormed, static_cast<size_t>(n * e));
  float* y = ctx.ws.get(kWsBlockOut, static_cast<size_t>(n * e));

  cpu::embedding(tok_embd_, tokens, n, x);
  if (embd_scale_ != 1.0f) {
    for (int64_t i = 0; i < n * e; ++i) x[i] *= embd_scale_;
  }
  for (const Layer& layer : layers_) {
    cpu::rms_norm(x, layer.mixer_norm.data(), n, e, hp_.norm_eps, xn);
    layer.mixer->forward(ctx, xn, y, layer.state_slot);
    cpu::add_inplace(x, y, n * e);
    if (layer.ffn) {
      cpu::rms_norm(x, layer.ffn_norm.data(), n, e, hp_.norm_eps, xn);
      layer.ffn->forward(ctx, xn, y);
      cpu::add_inplace(x, y, n * e);
    }
  }
  // Only the rows whose logits are wanted go through the head.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t rows = n - first;
  cpu::rms_norm(x + first * e, output_norm_.data(), rows, e, hp_.norm_eps, xn);
  cpu::matmul(ctx.pool, output_, xn, rows, logits, ctx.matmul);
  if (logit_softcap_ > 0) {
    for (int64_t i = 0; i < rows * hp_.n_vocab; ++i) {
      logits[i] = logit_softcap_ * std::tanh(logits[i] / logit_softcap_);
    }
  }
}

}  // namespace ma
