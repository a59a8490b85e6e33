// Mamba2ForCausalLM -> GGUF architecture "mamba2", writing what llama.cpp's
// converter writes: the head count as ssm.time_step_rank, A = -exp(A_log)
// and D as {1, H}, the gated norm as {d_inner / G, G}, the conv1d weight
// squeezed to {d_conv, conv_dim}; SSM tensors stay F32.
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

struct Dims {
  uint64_t d_model, d_inner, head_dim, n_group;
};

Dims dims(const HfModel& m) {
  Dims d;
  d.d_model = first_of(m, {"hidden_size", "d_model", "dim"}, 0);
  if (d.d_model == 0) throw Error("config.json: hidden_size (or d_model) is missing");
  const uint64_t expand = first_of(m, {"mamba_expand", "expand"}, 2);
  d.d_inner = first_of(m, {"mamba_d_ssm", "intermediate_size", "d_inner"}, expand * d.d_model);
  d.head_dim = first_of(m, {"mamba_d_head", "head_dim"}, 64);
  d.n_group = first_of(m, {"n_groups"}, 1);
  if (d.head_dim == 0 || d.d_inner % d.head_dim != 0 || d.n_group == 0 ||
      d.d_inner % d.n_group != 0) {
    throw Error("config.json: Mamba-2 inner size " + std::to_string(d.d_inner) +
                " does not split into heads of " + std::to_string(d.head_dim) + " and " +
                std::to_string(d.n_group) + " groups");
  }
  return d;
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const Dims d = dims(m);
  double eps = 1e-5;
  for (const char* k : {"layer_norm_epsilon", "rms_norm_eps"}) {
    if (m.config().contains(k) && m.config()[k].is_number()) {
      eps = m.config()[k].get<double>();
      break;
    }
  }
  w.set("mamba2.context_length", u32(1u << 20));  // a recurrence has no trained length
  w.set("mamba2.embedding_length", u32(d.d_model));
  w.set("mamba2.feed_forward_length", u32(0));
  w.set("mamba2.attention.head_count", u32(0));
  w.set("mamba2.block_count", u32(first_of(m, {"num_hidden_layers", "n_layer"}, 0)));
  w.set("mamba2.ssm.conv_kernel", u32(first_of(m, {"conv_kernel", "d_conv"}, 4)));
  w.set("mamba2.ssm.inner_size", u32(d.d_inner));
  w.set("mamba2.ssm.state_size", u32(first_of(m, {"state_size", "d_state"}, 128)));
  w.set("mamba2.ssm.time_step_rank", u32(d.d_inner / d.head_dim));
  w.set("mamba2.ssm.group_count", u32(d.n_group));
  w.set("mamba2.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(eps)));
}

float neg_exp(float a_log) {
  return -std::exp(a_log);
}

std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf_name) {
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
      {"mixer.dt_bias", "ssm_dt.bias"},
      {"mixer.A_log", "ssm_a"},
      {"mixer.D", "ssm_d"},
      {"mixer.norm.weight", "ssm_norm.weight"},
      {"mixer.out_proj.weight", "ssm_out.weight"},
  };
  // Mamba-Codestral prefixes everything with "model.".
  const std::string hf = hf_name.starts_with("model.") ? hf_name.substr(6) : hf_name;
  if (const auto it = kGlobal.find(hf); it != kGlobal.end()) return TensorPlan{it->second, {}};
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf.c_str(), "backbone.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= first_of(m, {"num_hidden_layers", "n_layer"}, 0)) {
      throw Error("tensor '" + hf_name + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    const auto it = kLayer.find(hf.substr(static_cast<size_t>(consumed)));
    if (it != kLayer.end()) {
      TensorPlan plan{"blk." + std::to_string(layer) + "." + it->second, {}};
      const Dims d = dims(m);
      const uint64_t n_head = d.d_inner / d.head_dim;
      if (it->second == "ssm_a" || it->second == "ssm_d") {
        plan.shape = {1, n_head};
        plan.force_f32 = true;
        if (it->second == "ssm_a") plan.value = neg_exp;
      } else if (it->second == "ssm_norm.weight") {
        plan.shape = {d.d_inner / d.n_group, d.n_group};
        plan.force_f32 = true;
      } else if (it->second == "ssm_conv1d.weight") {
        plan.squeeze = true;
        plan.force_f32 = true;
      }
      return plan;
    }
  }
  throw Error("tensor '" + hf_name + "' has no GGUF name in architecture mamba2");
}

}  // namespace

const ArchConverter& mamba2_arch_converter() {
  static const ArchConverter c{"mamba2", {"Mamba2ForCausalLM"}, add_hparams, map_tensor, nullptr};
  return c;
}

}  // namespace ma::convert
