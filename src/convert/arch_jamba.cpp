// JambaForCausalLM -> GGUF architecture "jamba", writing what llama.cpp's
// converter writes: attention.head_count_kv as one value per layer (0 marks a
// Mamba layer), the experts of each MoE layer stacked into ffn_{gate,up,down}_exps,
// the router (ffn_gate_inp) and SSM tensors kept F32, A = -exp(A_log), and q/k
// unpermuted since Jamba's attention has no RoPE.
#include <cmath>
#include <cstdio>
#include <map>

#include "convert/arch_table.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;

struct Layout {
  uint64_t n_layer, d_model, n_expert;
  uint64_t attn_period, attn_offset, expert_period, expert_offset;

  bool is_attention(uint64_t i) const { return i % attn_period == attn_offset; }
  bool is_moe(uint64_t i) const { return n_expert > 1 && i % expert_period == expert_offset; }
};

Layout layout(const HfModel& m) {
  Layout l;
  l.n_layer = m.cfg_uint("num_hidden_layers");
  l.d_model = m.cfg_uint("hidden_size");
  l.n_expert = m.cfg_uint("num_experts", 1);
  l.attn_period = m.cfg_uint("attn_layer_period", 8);
  l.attn_offset = m.cfg_uint("attn_layer_offset", 4);
  l.expert_period = m.cfg_uint("expert_layer_period", 2);
  l.expert_offset = m.cfg_uint("expert_layer_offset", 1);
  if (l.n_layer == 0 || l.d_model == 0 || l.attn_period == 0 || l.expert_period == 0 ||
      l.attn_offset >= l.attn_period || l.expert_offset >= l.expert_period) {
    throw Error("config.json: invalid Jamba layer layout (layers, periods or offsets)");
  }
  return l;
}

uint64_t dt_rank(const HfModel& m, uint64_t d_model) {
  const auto it = m.config().find("mamba_dt_rank");
  if (it == m.config().end() || (it->is_string() && it->get<std::string>() == "auto")) {
    return (d_model + 15) / 16;  // "auto" is ceil(d_model / 16)
  }
  return m.cfg_uint("mamba_dt_rank");
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const Layout l = layout(m);
  const uint64_t n_head = m.cfg_uint("num_attention_heads");
  const uint64_t n_head_kv = m.cfg_uint("num_key_value_heads", n_head);
  std::vector<int32_t> kv_per_layer;
  for (uint64_t i = 0; i < l.n_layer; ++i) {
    kv_per_layer.push_back(l.is_attention(i) ? static_cast<int32_t>(n_head_kv) : 0);
  }
  w.set("jamba.block_count", u32(l.n_layer));
  w.set("jamba.context_length", u32(m.cfg_uint("max_position_embeddings", 262144)));
  w.set("jamba.embedding_length", u32(l.d_model));
  w.set("jamba.feed_forward_length", u32(m.cfg_uint("intermediate_size")));
  w.set("jamba.attention.head_count", u32(n_head));
  w.set("jamba.attention.head_count_kv", Value::i32_array(kv_per_layer));
  w.set("jamba.ssm.conv_kernel", u32(m.cfg_uint("mamba_d_conv", 4)));
  w.set("jamba.ssm.inner_size", u32(m.cfg_uint("mamba_expand", 2) * l.d_model));
  w.set("jamba.ssm.state_size", u32(m.cfg_uint("mamba_d_state", 16)));
  w.set("jamba.ssm.time_step_rank", u32(dt_rank(m, l.d_model)));
  w.set("jamba.attention.layer_norm_rms_epsilon",
        Value::f32(static_cast<float>(m.cfg_float("rms_norm_eps", 1e-6))));
  w.set("jamba.expert_count", u32(l.n_expert));
  w.set("jamba.expert_used_count", u32(m.cfg_uint("num_experts_per_tok", 2)));
}

float neg_exp(float a_log) {
  return -std::exp(a_log);
}

std::optional<TensorPlan> map_layer_tensor(const Layout& l, unsigned layer,
                                           const std::string& rest) {
  static const std::map<std::string, std::string> kLayer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"pre_ff_layernorm.weight", "ffn_norm.weight"},
      {"mamba.in_proj.weight", "ssm_in.weight"},
      {"mamba.conv1d.weight", "ssm_conv1d.weight"},
      {"mamba.conv1d.bias", "ssm_conv1d.bias"},
      {"mamba.x_proj.weight", "ssm_x.weight"},
      {"mamba.dt_proj.weight", "ssm_dt.weight"},
      {"mamba.dt_proj.bias", "ssm_dt.bias"},
      {"mamba.A_log", "ssm_a"},
      {"mamba.D", "ssm_d"},
      {"mamba.out_proj.weight", "ssm_out.weight"},
      {"mamba.dt_layernorm.weight", "ssm_dt_norm.weight"},
      {"mamba.b_layernorm.weight", "ssm_b_norm.weight"},
      {"mamba.c_layernorm.weight", "ssm_c_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"feed_forward.router.weight", "ffn_gate_inp.weight"},
      {"feed_forward.gate_proj.weight", "ffn_gate.weight"},
      {"feed_forward.up_proj.weight", "ffn_up.weight"},
      {"feed_forward.down_proj.weight", "ffn_down.weight"},
  };
  const std::string blk = "blk." + std::to_string(layer) + ".";
  unsigned expert = 0;
  int consumed = 0;
  if (std::sscanf(rest.c_str(), "feed_forward.experts.%u.%n", &expert, &consumed) == 1 &&
      consumed > 0) {
    const std::string proj = rest.substr(static_cast<size_t>(consumed));
    const char* base = proj == "gate_proj.weight"   ? "ffn_gate"
                       : proj == "up_proj.weight"   ? "ffn_up"
                       : proj == "down_proj.weight" ? "ffn_down"
                                                    : nullptr;
    if (base != nullptr && !l.is_moe(layer) && expert == 0) {
      return TensorPlan{blk + base + ".weight", {}};  // a lone expert is a dense FFN
    }
    if (base != nullptr && expert < l.n_expert) {
      TensorPlan plan{blk + base + "_exps.weight", {}};
      plan.stack_index = expert;
      plan.stack_count = static_cast<uint32_t>(l.n_expert);
      return plan;
    }
  }
  const auto it = kLayer.find(rest);
  if (it == kLayer.end()) return std::nullopt;
  TensorPlan plan{blk + it->second, {}};
  if (it->second == "ssm_a") {
    plan.value = neg_exp;
    plan.force_f32 = true;
  } else if (it->second == "ssm_conv1d.weight") {
    plan.squeeze = true;
    plan.force_f32 = true;
  } else if (it->second == "ffn_gate_inp.weight") {
    plan.force_f32 = true;  // llama.cpp never quantizes the router
  }
  return plan;
}

std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf) {
  static const std::map<std::string, std::string> kGlobal = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.final_layernorm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  if (hf == "lm_head.weight") {
    // Like llama.cpp: a head equal to the embedding is not written twice.
    const StTensor* head = m.find(hf);
    const StTensor* embd = m.find("model.embed_tokens.weight");
    if (embd != nullptr && embd->same_contents(*head)) return std::nullopt;
  }
  if (const auto it = kGlobal.find(hf); it != kGlobal.end()) return TensorPlan{it->second, {}};
  const Layout l = layout(m);
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf.c_str(), "model.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= l.n_layer) {
      throw Error("tensor '" + hf + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    if (auto plan = map_layer_tensor(l, layer, hf.substr(static_cast<size_t>(consumed)))) {
      return plan;
    }
  }
  throw Error("tensor '" + hf + "' has no GGUF name in architecture jamba");
}

}  // namespace

const ArchConverter& jamba_arch_converter() {
  static const ArchConverter c{"jamba", {"JambaForCausalLM"}, add_hparams, map_tensor, nullptr};
  return c;
}

}  // namespace ma::convert
