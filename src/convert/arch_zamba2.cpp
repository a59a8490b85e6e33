// Zamba2ForCausalLM -> GGUF architecture "zamba2" (our layout, documented in
// docs/gguf-architectures.md). The shared transformer blocks are written
// once as shared.B.*; each hybrid layer gets its linear projection
// (blk.N.shared_out) and its LoRA adapters (blk.N.*_lora_{a,b}); the Mamba-2
// tensors follow the mamba2 layout. Older and newer config.json spellings
// are both read: layers_block_type "mamba" or "linear_attention", RoPE theta
// in rope_theta or in rope_parameters.
#include <cmath>
#include <cstdio>
#include <map>

#include "convert/arch_table.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;

struct Zamba2Config {
  uint64_t d_model = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  uint64_t d_inner = 0, n_ssm_head = 0, n_group = 1, d_state = 0, d_conv = 0;
  uint64_t n_shared = 1, rank = 0;
  std::vector<uint64_t> hybrid;  // layer ids of the hybrid layers, in depth order
  bool is_hybrid(uint64_t layer) const {
    for (uint64_t h : hybrid) {
      if (h == layer) return true;
    }
    return false;
  }
  // The position of a hybrid layer among the hybrid layers.
  uint64_t application(uint64_t layer) const {
    for (size_t j = 0; j < hybrid.size(); ++j) {
      if (hybrid[j] == layer) return j;
    }
    throw Error("layer " + std::to_string(layer) + " is not a hybrid layer");
  }
};

Zamba2Config read_config(const HfModel& m) {
  Zamba2Config c;
  c.d_model = m.cfg_uint("hidden_size");
  c.n_layer = m.cfg_uint("num_hidden_layers");
  c.n_head = m.cfg_uint("num_attention_heads");
  c.n_head_kv = m.cfg_uint("num_key_value_heads", c.n_head);
  c.n_ff = m.cfg_uint("intermediate_size", 4 * c.d_model);
  c.d_inner = m.cfg_uint("mamba_expand", 2) * c.d_model;
  c.n_ssm_head = m.cfg_uint("n_mamba_heads", 8);
  c.n_group = m.cfg_uint("mamba_ngroups", 1);
  c.d_state = m.cfg_uint("mamba_d_state", 64);
  c.d_conv = m.cfg_uint("mamba_d_conv", 4);
  c.n_shared = m.cfg_uint("num_mem_blocks", 1);
  c.rank = m.cfg_uint("adapter_rank", 128);
  if (c.n_head == 0 || c.n_head_kv == 0 || c.n_head % c.n_head_kv != 0 ||
      (2 * c.d_model) % c.n_head != 0) {
    throw Error("config.json: num_attention_heads " + std::to_string(c.n_head) +
                " must divide 2 * hidden_size and be a multiple of num_key_value_heads");
  }
  c.head_dim = 2 * c.d_model / c.n_head;
  if (c.n_ssm_head == 0 || c.d_inner % c.n_ssm_head != 0 || c.n_group == 0 ||
      c.n_ssm_head % c.n_group != 0 || c.n_shared == 0) {
    throw Error("config.json: n_mamba_heads, mamba_ngroups or num_mem_blocks do not fit");
  }
  const auto types = m.config().find("layers_block_type");
  if (types == m.config().end() || !types->is_array() || types->size() != c.n_layer) {
    throw Error("config.json: layers_block_type must list num_hidden_layers layer types");
  }
  for (uint64_t i = 0; i < c.n_layer; ++i) {
    const std::string t = (*types)[i].is_string() ? (*types)[i].get<std::string>() : "";
    if (t == "hybrid") {
      c.hybrid.push_back(i);
    } else if (t != "mamba" && t != "linear_attention") {
      throw Error("config.json: layers_block_type[" + std::to_string(i) + "] is '" + t +
                  "', expected 'hybrid', 'mamba' or 'linear_attention'");
    }
  }
  return c;
}

double rope_theta(const HfModel& m) {
  const auto rp = m.config().find("rope_parameters");
  if (rp != m.config().end() && rp->is_object()) {
    const std::string type = rp->value("rope_type", std::string("default"));
    if (type != "default") throw Error("config.json: rope_type '" + type + "' is not supported");
    if (rp->contains("rope_theta") && (*rp)["rope_theta"].is_number()) {
      return (*rp)["rope_theta"].get<double>();
    }
  }
  return m.cfg_float("rope_theta", 10000.0);
}

std::string activation(const HfModel& m) {
  const std::string act = m.config().value("hidden_act", std::string("gelu"));
  if (act == "gelu") return "gelu";
  if (act == "gelu_pytorch_tanh" || act == "gelu_new") return "gelu_tanh";
  if (act == "silu" || act == "swish") return "silu";
  throw Error("config.json: hidden_act '" + act + "' is not supported");
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const Zamba2Config c = read_config(m);
  if (m.cfg_bool("use_long_context", false)) {
    throw Error("config.json: use_long_context (a rescaled RoPE base) is not supported");
  }
  const std::string a = "zamba2.";
  w.set(a + "context_length", u32(m.cfg_uint("max_position_embeddings", 4096)));
  w.set(a + "embedding_length", u32(c.d_model));
  w.set(a + "block_count", u32(c.n_layer));
  w.set(a + "feed_forward_length", u32(c.n_ff));
  w.set(a + "feed_forward_activation", Value::str(activation(m)));
  w.set(a + "attention.head_count", u32(c.n_head));
  w.set(a + "attention.head_count_kv", u32(c.n_head_kv));
  w.set(a + "attention.key_length", u32(c.head_dim));
  w.set(a + "attention.value_length", u32(c.head_dim));
  w.set(a + "attention.layer_norm_rms_epsilon",
        Value::f32(static_cast<float>(m.cfg_float("rms_norm_eps", 1e-5))));
  const bool rope = m.cfg_bool("use_mem_rope", false);
  w.set(a + "rope.dimension_count", u32(rope ? c.head_dim : 0));
  w.set(a + "rope.freq_base", Value::f32(static_cast<float>(rope_theta(m))));
  w.set(a + "ssm.conv_kernel", u32(c.d_conv));
  w.set(a + "ssm.inner_size", u32(c.d_inner));
  w.set(a + "ssm.state_size", u32(c.d_state));
  w.set(a + "ssm.time_step_rank", u32(c.n_ssm_head));
  w.set(a + "ssm.group_count", u32(c.n_group));
  w.set(a + "shared_block_count", u32(c.n_shared));
  w.set(a + "adapter_rank", u32(c.rank));
}

float neg_exp(float a_log) {
  return -std::exp(a_log);
}

// A Mamba-2 tensor (the part after "mamba.") as blk.N.ssm_*.
std::optional<TensorPlan> mamba_plan(const Zamba2Config& c, const std::string& blk,
                                     const std::string& rest) {
  static const std::map<std::string, std::string> kMamba = {
      {"in_proj.weight", "ssm_in.weight"},
      {"conv1d.weight", "ssm_conv1d.weight"},
      {"conv1d.bias", "ssm_conv1d.bias"},
      {"dt_bias", "ssm_dt.bias"},
      {"A_log", "ssm_a"},
      {"D", "ssm_d"},
      {"norm.weight", "ssm_norm.weight"},
      {"out_proj.weight", "ssm_out.weight"},
  };
  const auto it = kMamba.find(rest);
  if (it == kMamba.end()) return std::nullopt;
  TensorPlan plan{blk + it->second, {}};
  if (it->second == "ssm_a" || it->second == "ssm_d") {
    plan.shape = {1, c.n_ssm_head};
    plan.force_f32 = true;
    if (it->second == "ssm_a") plan.value = neg_exp;
  } else if (it->second == "ssm_norm.weight") {
    plan.shape = {c.d_inner / c.n_group, c.n_group};
    plan.force_f32 = true;
  } else if (it->second == "ssm_conv1d.weight") {
    plan.squeeze = true;
    plan.force_f32 = true;
  }
  return plan;
}

// A tensor of a shared block (the part after "shared_transformer.").
std::optional<TensorPlan> shared_plan(const Zamba2Config& c, uint64_t block,
                                      const std::string& rest) {
  static const std::map<std::string, std::string> kShared = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"pre_ff_layernorm.weight", "ffn_norm.weight"},
      {"feed_forward.gate_up_proj.weight", "ffn_gate_up.weight"},
      {"feed_forward.down_proj.weight", "ffn_down.weight"},
  };
  if (const auto it = kShared.find(rest); it != kShared.end()) {
    return TensorPlan{"shared." + std::to_string(block) + "." + it->second, {}};
  }
  // Adapters: <list>.<application>.<0 (down to rank) | 1 (up from rank)>.weight
  static const std::pair<const char*, const char*> kAdapters[] = {
      {"self_attn.linear_q_adapter_list.", "attn_q_lora_"},
      {"self_attn.linear_k_adapter_list.", "attn_k_lora_"},
      {"self_attn.linear_v_adapter_list.", "attn_v_lora_"},
      {"feed_forward.gate_up_proj_adapter_list.", "ffn_gate_up_lora_"},
  };
  for (const auto& [list, gguf] : kAdapters) {
    if (!rest.starts_with(list)) continue;
    unsigned j = 0, part = 0;
    int consumed = 0;
    const std::string tail = rest.substr(std::string(list).size());
    if (std::sscanf(tail.c_str(), "%u.%u.weight%n", &j, &part, &consumed) != 2 ||
        static_cast<size_t>(consumed) != tail.size() || part > 1 || j >= c.hybrid.size()) {
      break;
    }
    return TensorPlan{
        "blk." + std::to_string(c.hybrid[j]) + "." + gguf + (part ? "b" : "a") + ".weight", {}};
  }
  return std::nullopt;
}

std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf_name) {
  const Zamba2Config c = read_config(m);
  if (hf_name == "lm_head.weight") {
    if (m.cfg_bool("tie_word_embeddings", true)) return std::nullopt;  // the embedding is the head
    return TensorPlan{"output.weight", {}};
  }
  if (hf_name == "model.embed_tokens.weight") return TensorPlan{"token_embd.weight", {}};
  if (hf_name == "model.final_layernorm.weight") return TensorPlan{"output_norm.weight", {}};
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf_name.c_str(), "model.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= c.n_layer) {
      throw Error("tensor '" + hf_name + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    const std::string rest = hf_name.substr(static_cast<size_t>(consumed));
    const std::string blk = "blk." + std::to_string(layer) + ".";
    std::optional<TensorPlan> plan;
    if (!c.is_hybrid(layer)) {
      if (rest == "input_layernorm.weight") return TensorPlan{blk + "attn_norm.weight", {}};
      if (rest.starts_with("mamba.")) plan = mamba_plan(c, blk, rest.substr(6));
    } else if (rest == "linear.weight") {
      return TensorPlan{blk + "shared_out.weight", {}};
    } else if (rest == "mamba_decoder.input_layernorm.weight") {
      return TensorPlan{blk + "attn_norm.weight", {}};
    } else if (rest.starts_with("mamba_decoder.mamba.")) {
      plan = mamba_plan(c, blk, rest.substr(20));
    } else if (rest.starts_with("shared_transformer.")) {
      // A shared block may be saved under every layer that uses it: take the
      // copy of its first user that the checkpoint holds, skip the others.
      const std::string inner = rest.substr(19);
      const uint64_t block = c.application(layer) % c.n_shared;
      for (size_t j = block; j < c.hybrid.size(); j += c.n_shared) {
        const std::string name =
            "model.layers." + std::to_string(c.hybrid[j]) + ".shared_transformer." + inner;
        if (m.find(name) == nullptr) continue;
        if (c.hybrid[j] != layer) return std::nullopt;
        break;
      }
      plan = shared_plan(c, block, inner);
    }
    if (plan) return plan;
  }
  throw Error("tensor '" + hf_name + "' has no GGUF name in architecture zamba2");
}

}  // namespace

const ArchConverter& zamba2_arch_converter() {
  static const ArchConverter c{"zamba2", {"Zamba2ForCausalLM"}, add_hparams, map_tensor, nullptr};
  return c;
}

}  // namespace ma::convert
