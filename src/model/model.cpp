#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/q4_0x8.h"
#include "backend/cpu/q8_0x8.h"
#include "core/error.h"

namespace ma {
namespace {

bool keeps_fixed_state(const StateSpec& spec) {
  return spec.family == StateFamily::kFixed || spec.fixed_bytes > 0;
}

}  // namespace

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
  int64_t slot = 0, recurrent = 0;
  const StateFamily family = layer.mixer->state_spec().family;
  for (const auto& l : layers_) {
    slot += l.mixer->state_spec().family == family;
    recurrent += keeps_fixed_state(l.mixer->state_spec());
  }
  // A recurrent mixer's own slot is its recurrent slot: layers of the KV
  // family may keep fixed state too (Zamba-2's hybrid layers), so counting
  // only fixed-family layers would make two layers share a slot.
  layer.state_slot = family == StateFamily::kFixed ? recurrent : slot;
  layer.recurrent_slot = recurrent;
  kinds.push_back(layer.mixer->kind());
  schedule_ = LayerSchedule(std::move(kinds));
  keeps_embeddings_ = keeps_embeddings_ || layer.mixer->reads_embeddings();
  layers_.push_back(std::move(layer));
}

void Model::set_embedding(Weight tok_embd, float scale) {
  tok_embd_ = tok_embd;
  embd_scale_ = scale;
}

void Model::set_embedding_norm(std::vector<float> weight, std::vector<float> bias) {
  embd_norm_ = std::move(weight);
  embd_norm_bias_ = std::move(bias);
}

void Model::set_output_norm_bias(std::vector<float> bias) {
  output_norm_bias_ = std::move(bias);
}

void Model::set_head(std::vector<float> output_norm, Weight output, float logit_softcap) {
  output_norm_ = std::move(output_norm);
  output_ = output;
  logit_softcap_ = logit_softcap;
}

size_t Model::repack_for_cpu() {
  size_t bytes = 0;
  const WeightVisitor repack = [&](Weight& w) {
    const bool q4 = cpu::can_repack_q4_0x8(w);
    if (!q4 && !cpu::can_repack_q8_0x8(w)) return;
    const size_t n = w.row_bytes * static_cast<size_t>(w.out);
    auto buffer = std::make_unique<HugeBuffer>(n);
    if (q4) {
      cpu::repack_q4_0x8(w, buffer->data());
      w.layout = WeightLayout::kQ4_0x8;
    } else {
      cpu::repack_q8_0x8(w, buffer->data());
      w.layout = WeightLayout::kQ8_0x8;
    }
    w.data = buffer->data();
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
    if (keeps_fixed_state(spec)) slots.push_back(spec.fixed_bytes);
  }
  return slots;
}

std::string Model::unsupported_on(Device device) const {
  if (device == Device::kCpu) return "";
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const bool ffn_ok = !l.ffn || l.ffn->runs_on(device);
    if (!l.mixer->runs_on(device) || !ffn_ok) {
      return "layer " + std::to_string(i) + " ('" +
             std::string(1, static_cast<char>(l.mixer->kind())) + "' in the schedule " +
             schedule_.to_string() + ") has no " + device_name(device) +
             " kernels yet; only attention layers with gated (SwiGLU/GeGLU) FFNs run there";
    }
  }
  return "";
}

void Model::for_each_matmul_weight(const ConstWeightVisitor& visit) const {
  for (const Layer& l : layers_) {
    l.mixer->for_each_matmul_weight(visit);
    if (l.ffn) l.ffn->for_each_matmul_weight(visit);
  }
  visit(output_);
}

void Model::check_tokens(const int32_t* tokens, int64_t n) const {
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= hp_.n_vocab) {
      throw Error("token id " + std::to_string(tokens[t]) + " is out of range (vocabulary of " +
                  std::to_string(hp_.n_vocab) + ")");
    }
  }
}

void Model::norm(Backend& be, const float* x, const std::vector<float>& weight,
                 const std::vector<float>& bias, int64_t rows, float* y) const {
  be.norm(hp_.norm, x, weight, bias, rows, hp_.n_embd, hp_.norm_eps, y);
}

void Model::forward(ForwardContext& ctx, const int32_t* tokens, float* logits,
                    bool all_logits) const {
  Backend& be = ctx.backend;
  const int64_t n = ctx.n_tokens;
  const int64_t e = hp_.n_embd;
  check_tokens(tokens, n);
  float* x = be.buffer(kWsResidual, static_cast<size_t>(n * e));
  float* xn = be.buffer(kWsNormed, static_cast<size_t>(n * e));
  float* y = be.buffer(kWsBlockOut, static_cast<size_t>(n * e));

  be.embedding(tok_embd_, tokens, n, embd_scale_, x);
  if (!embd_norm_.empty()) norm(be, x, embd_norm_, embd_norm_bias_, n, x);
  // Only for the blocks that read them: on a device the copy would sit
  // between the lookup and the first norm, which then launch as one.
  if (keeps_embeddings_) {
    float* embeddings = be.buffer(kWsEmbeddings, static_cast<size_t>(n * e));
    be.copy(x, n * e, embeddings);
    ctx.embeddings = embeddings;
  }
  // A block's output waits in `pending` to be added to the residual stream
  // together with the norm that follows it (one pass on a device).
  const float* pending = nullptr;
  auto norm_pending = [&](const std::vector<float>& weight, const std::vector<float>& bias) {
    if (pending != nullptr) {
      be.add_norm(hp_.norm, x, pending, weight, bias, n, e, hp_.norm_eps, xn);
    } else {
      norm(be, x, weight, bias, n, xn);
    }
    pending = nullptr;
  };
  auto settle = [&] {
    if (pending != nullptr) be.add(x, pending, n * e);
    pending = nullptr;
  };
  for (const Layer& layer : layers_) {
    ctx.layer_slot = layer.recurrent_slot;
    const float* mixer_in = x;
    if (!layer.mixer_norm.empty()) {
      norm_pending(layer.mixer_norm, layer.mixer_norm_bias);
      mixer_in = xn;
    } else {
      settle();
    }
    layer.mixer->forward(ctx, mixer_in, y, layer.state_slot);
    pending = y;
    if (layer.ffn) {
      norm_pending(layer.ffn_norm, layer.ffn_norm_bias);
      layer.ffn->forward(ctx, xn, y);
      pending = y;
    }
  }
  // Only the rows whose logits are wanted go through the head.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t rows = n - first;
  const int64_t n_out = rows * hp_.n_vocab;
  if (first == 0) {
    norm_pending(output_norm_, output_norm_bias_);
  } else {
    settle();
    norm(be, x + first * e, output_norm_, output_norm_bias_, rows, xn);
  }
  // The CPU writes the logits in place; a device computes them in its own
  // memory and copies them out.
  const bool host = be.device() == Device::kCpu;
  float* out = host ? logits : be.buffer(kWsLogits, static_cast<size_t>(n_out));
  be.matmul(output_, xn, rows, out);
  if (logit_softcap_ > 0) be.softcap(out, n_out, logit_softcap_);
  if (ctx.greedy_token != nullptr) {
    be.argmax(out + (rows - 1) * hp_.n_vocab, hp_.n_vocab, ctx.greedy_token);
  } else if (!host) {
    be.download(out, n_out, logits);
  }
}

}  // namespace ma
