// MambaForCausalLM / FalconMambaForCausalLM -> GGUF architecture "mamba", writing what llama.cpp's
// converter writes: its hyperparameter keys, A_log stored as A = -exp(A_log),
// the conv1d weight squeezed to {d_conv, d_inner} and kept F32, and no
// output.weight when the LM head is the embedding.
#include <cmath>
#include <cstdio>
#include <map>

#include "convert/arch_table.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;

uint64_t first_of(const HfModel& m, std::initializer_list<const char*> keys, uint64_t fallback) {
  for (const char* k : keys) {
    const auto it = m.config().find(k);
    if (it != m.config().end() && it->is_number_unsigned()) return it->get<uint64_t>();
  }
  return fallback;
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const uint64_t d_model = first_of(m, {"hidden_size", "d_model"}, 0);
  if (d_model == 0) throw Error("config.json: hidden_size (or d_model) is missing");
  const uint64_t d_inner = first_of(m, {"intermediate_size", "d_inner"}, 2 * d_model);
  if (d_inner != 2 * d_model) {
    throw Error(
        "config.json: Mamba needs intermediate_size = 2 * hidden_size (llama.cpp's "
        "layout), got " +
        std::to_string(d_inner));
  }
  // dt rank "auto" is ceil(d_model / 16).
  const uint64_t dt_rank = first_of(m, {"time_step_rank", "dt_rank"}, (d_model + 15) / 16);
  double eps = 1e-5;
  for (const char* k : {"layer_norm_epsilon", "rms_norm_eps"}) {
    if (m.config().contains(k) && m.config()[k].is_number()) {
      eps = m.config()[k].get<double>();
      break;
    }
  }
  w.set("mamba.context_length", u32(1u << 20));  // a recurrence has no trained length
  w.set("mamba.embedding_length", u32(d_model));
  w.set("mamba.feed_forward_length", u32(0));
  w.set("mamba.attention.head_count", u32(0));
  w.set("mamba.block_count", u32(first_of(m, {"num_hidden_layers", "n_layer"}, 0)));
  w.set("mamba.ssm.conv_kernel", u32(first_of(m, {"conv_kernel", "d_conv"}, 4)));
  w.set("mamba.ssm.inner_size", u32(d_inner));
  w.set("mamba.ssm.state_size", u32(first_of(m, {"state_size", "d_state"}, 16)));
  w.set("mamba.ssm.time_step_rank", u32(dt_rank));
  w.set("mamba.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(eps)));
  // Falcon-Mamba normalises dt, B and C; plain Mamba does not.
  w.set("mamba.ssm.dt_b_c_rms",
        Value::boolean(m.config().value("model_type", "") == "falcon_mamba"));
}

float neg_exp(float a_log) {
  return -std::exp(a_log);
}

const StTensor* embedding(const HfModel& m) {
  for (const char* n : {"backbone.embeddings.weight", "backbone.embedding.weight"}) {
    if (const StTensor* t = m.find(n)) return t;
  }
  return nullptr;
}

std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf) {
  static const std::map<std::string, std::string> kGlobal = {
      {"backbone.embeddings.weight", "token_embd.weight"},
      {"backbone.embedding.weight", "token_embd.weight"},
      {"backbone.norm_f.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  static const std::map<std::string, std::string> kLayer = {
      {"norm.weight", "attn_norm.weight"},
      {"mixer.in_proj.weight", "ssm_in.weight"},
      {"mixer.conv1d.weight", "ssm_conv1d.weight"},
      {"mixer.conv1d.bias", "ssm_conv1d.bias"},
      {"mixer.x_proj.weight", "ssm_x.weight"},
      {"mixer.dt_proj.weight", "ssm_dt.weight"},
      {"mixer.dt_proj.bias", "ssm_dt.bias"},
      {"mixer.A_log", "ssm_a"},
      {"mixer.D", "ssm_d"},
      {"mixer.out_proj.weight", "ssm_out.weight"},
  };
  if (hf == "lm_head.weight") {
    // Like llama.cpp: a head equal to the embedding is not written twice.
    const StTensor* head = m.find(hf);
    const StTensor* embd = embedding(m);
    if (embd != nullptr && embd->same_contents(*head)) return std::nullopt;
    if (embd == nullptr) return TensorPlan{"token_embd.weight", {}};
  }
  if (const auto it = kGlobal.find(hf); it != kGlobal.end()) return TensorPlan{it->second, {}};
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf.c_str(), "backbone.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= first_of(m, {"num_hidden_layers", "n_layer"}, 0)) {
      throw Error("tensor '" + hf + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    const auto it = kLayer.find(hf.substr(static_cast<size_t>(consumed)));
    if (it != kLayer.end()) {
      TensorPlan plan{"blk." + std::to_string(layer) + "." + it->second, {}};
      if (it->second == "ssm_a") {
        plan.value = neg_exp;
        plan.force_f32 = true;
      } else if (it->second == "ssm_conv1d.weight") {
        plan.squeeze = true;
        plan.force_f32 = true;
      }
      return plan;
    }
  }
  throw Error("tensor '" + hf + "' has no GGUF name in architecture mamba");
}

}  // namespace

const ArchConverter& mamba_arch_converter() {
  static const ArchConverter c{
      "mamba", {"MambaForCausalLM", "FalconMambaForCausalLM"}, add_hparams, map_tensor, nullptr};
  return c;
}

}  // namespace ma::convert
