// LlamaForCausalLM / MistralForCausalLM -> GGUF architecture "llama", with
// llama.cpp's hyperparameter keys and tensor names.
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>

#include "convert/arch_table.h"
#include "convert/llama_rope.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;
using nlohmann::json;

// HF's rope_scaling (older) or rope_parameters (newer transformers), or null.
const json* rope_params(const HfModel& m) {
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    const auto it = m.config().find(key);
    if (it != m.config().end() && it->is_object()) return &*it;
  }
  return nullptr;
}

std::string rope_type(const json& p) {
  const std::string t = p.value("rope_type", p.value("type", std::string("default")));
  return t;
}

double rope_theta(const HfModel& m) {
  if (const json* p = rope_params(m); p != nullptr && p->contains("rope_theta")) {
    return p->at("rope_theta").get<double>();
  }
  return m.cfg_float("rope_theta", 10000.0);
}

uint64_t head_dim(const HfModel& m) {
  const uint64_t n_head = m.cfg_uint("num_attention_heads");
  if (n_head == 0) throw Error("config.json: num_attention_heads is 0");
  return m.cfg_uint("head_dim", m.cfg_uint("hidden_size") / n_head);
}

double num(const json& p, const char* key, const std::string& what) {
  if (!p.contains(key) || !p[key].is_number()) {
    throw Error("config.json: " + what + " rope scaling needs a numeric \"" + key + "\"");
  }
  return p[key].get<double>();
}

void add_rope_scaling(const HfModel& m, GgufStreamWriter& w) {
  const json* p = rope_params(m);
  if (p == nullptr) return;
  const std::string type = rope_type(*p);
  auto f32 = [](double v) { return Value::f32(static_cast<float>(v)); };
  if (type == "default" || type == "llama3" || type == "dynamic") {
    return;  // llama3 becomes the rope_freqs tensor; dynamic is a run-time choice
  }
  if (type == "linear") {
    w.set("llama.rope.scaling.type", Value::str("linear"));
    w.set("llama.rope.scaling.factor", f32(num(*p, "factor", type)));
  } else if (type == "yarn") {
    w.set("llama.rope.scaling.type", Value::str("yarn"));
    w.set("llama.rope.scaling.factor", f32(num(*p, "factor", type)));
    w.set("llama.rope.scaling.original_context_length",
          Value::u32(static_cast<uint32_t>(num(*p, "original_max_position_embeddings", type))));
    const std::pair<const char*, const char*> optional[] = {
        {"extrapolation_factor", "yarn_ext_factor"},
        {"attention_factor", "yarn_attn_factor"},
        {"attn_factor", "yarn_attn_factor"},
        {"beta_fast", "yarn_beta_fast"},
        {"beta_slow", "yarn_beta_slow"}};
    for (const auto& [hf, key] : optional) {
      if (p->contains(hf) && (*p)[hf].is_number()) {
        w.set(std::string("llama.rope.scaling.") + key, f32((*p)[hf].get<double>()));
      }
    }
  } else if (type == "longrope" || type == "su") {
    w.set("llama.rope.scaling.type", Value::str("longrope"));
  } else {
    throw Error("config.json: unsupported rope scaling type '" + type + "'");
  }
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const uint64_t n_head = m.cfg_uint("num_attention_heads");
  w.set("llama.vocab_size", u32(m.cfg_uint("vocab_size")));
  w.set("llama.context_length", u32(m.cfg_uint("max_position_embeddings", 4096)));
  w.set("llama.embedding_length", u32(m.cfg_uint("hidden_size")));
  w.set("llama.block_count", u32(m.cfg_uint("num_hidden_layers")));
  w.set("llama.feed_forward_length", u32(m.cfg_uint("intermediate_size")));
  w.set("llama.rope.dimension_count", u32(head_dim(m)));
  w.set("llama.attention.head_count", u32(n_head));
  w.set("llama.attention.head_count_kv", u32(m.cfg_uint("num_key_value_heads", n_head)));
  w.set("llama.rope.freq_base", Value::f32(static_cast<float>(rope_theta(m))));
  w.set("llama.attention.layer_norm_rms_epsilon",
        Value::f32(static_cast<float>(m.cfg_float("rms_norm_eps", 1e-6))));
  if (m.config().contains("head_dim") && !m.config()["head_dim"].is_null()) {
    w.set("llama.attention.key_length", u32(head_dim(m)));
    w.set("llama.attention.value_length", u32(head_dim(m)));
  }
  if (m.hf_architecture() == "MistralForCausalLM") {
    if (const uint64_t sw = m.cfg_uint("sliding_window", 0); sw != 0) {
      w.set("llama.attention.sliding_window", u32(sw));
    }
  }
  add_rope_scaling(m, w);
}

// HF stores q/k with the two RoPE halves of each head apart (rotate-half);
// GGUF llama expects the pairs interleaved. Output row (head h, pair i, half
// j) comes from source row h*hd + j*hd/2 + i.
std::function<uint64_t(uint64_t)> rope_permutation(const std::string& name, uint64_t rows,
                                                   uint64_t n_head) {
  if (n_head == 0 || rows % n_head != 0 || (rows / n_head) % 2 != 0) {
    throw Error("tensor '" + name + "': " + std::to_string(rows) + " rows cannot be split into " +
                std::to_string(n_head) + " heads of an even size");
  }
  const uint64_t hd = rows / n_head;
  return [hd](uint64_t r) {
    const uint64_t h = r / hd, within = r % hd;
    return h * hd + (within % 2) * (hd / 2) + within / 2;
  };
}

std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf) {
  static const std::map<std::string, std::string> kGlobal = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  static const std::map<std::string, std::string> kLayer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  if (hf.ends_with(".rotary_emb.inv_freq")) return std::nullopt;  // recomputed at run time
  if (hf == "lm_head.weight" && m.cfg_bool("tie_word_embeddings", false)) {
    // Tied checkpoints may keep only one copy (safetensors drops shared
    // tensors); then lm_head.weight is the embedding.
    if (m.find("model.embed_tokens.weight") != nullptr) return std::nullopt;
    return TensorPlan{"token_embd.weight", {}};
  }
  if (const auto it = kGlobal.find(hf); it != kGlobal.end()) return TensorPlan{it->second, {}};
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf.c_str(), "model.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= m.cfg_uint("num_hidden_layers")) {
      throw Error("tensor '" + hf + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    const auto it = kLayer.find(hf.substr(static_cast<size_t>(consumed)));
    if (it != kLayer.end()) {
      TensorPlan plan{"blk." + std::to_string(layer) + "." + it->second, {}};
      const StTensor* t = m.find(hf);
      const uint64_t n_head = m.cfg_uint("num_attention_heads");
      if (it->second == "attn_q.weight") {
        plan.source_row = rope_permutation(hf, t->shape.at(0), n_head);
      } else if (it->second == "attn_k.weight") {
        plan.source_row =
            rope_permutation(hf, t->shape.at(0), m.cfg_uint("num_key_value_heads", n_head));
      }
      return plan;
    }
  }
  throw Error("tensor '" + hf + "' has no GGUF name in architecture llama");
}

// Llama 3.1-style rope scaling: per-frequency factors in rope_freqs.weight.
std::vector<ExtraTensor> extra_tensors(const HfModel& m) {
  const json* p = rope_params(m);
  if (p == nullptr || rope_type(*p) != "llama3") return {};
  Llama3Rope r;
  r.factor = p->value("factor", r.factor);
  r.low_freq_factor = p->value("low_freq_factor", r.low_freq_factor);
  r.high_freq_factor = p->value("high_freq_factor", r.high_freq_factor);
  r.original_context = p->value("original_max_position_embeddings", r.original_context);
  const uint64_t dim = head_dim(m);
  return {ExtraTensor{"rope_freqs.weight", {dim / 2}, llama3_rope_factors(rope_theta(m), dim, r)}};
}

}  // namespace

const ArchConverter& llama_arch_converter() {
  static const ArchConverter c{
      "llama", {"LlamaForCausalLM", "MistralForCausalLM"}, add_hparams, map_tensor, extra_tensors};
  return c;
}

std::vector<float> llama3_rope_factors(double base, uint64_t dim, const Llama3Rope& p) {
  const double low_wavelen = p.original_context / p.low_freq_factor;
  const double high_wavelen = p.original_context / p.high_freq_factor;
  std::vector<float> out;
  for (uint64_t i = 0; i < dim; i += 2) {
    const double freq = 1.0 / std::pow(base, static_cast<double>(i) / static_cast<double>(dim));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    double f = 1.0;  // high frequencies keep their speed
    if (wavelen > low_wavelen) {
      f = p.factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (p.original_context / wavelen - p.low_freq_factor) /
                            (p.high_freq_factor - p.low_freq_factor);
      f = 1.0 / ((1.0 - smooth) / p.factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

}  // namespace ma::convert
