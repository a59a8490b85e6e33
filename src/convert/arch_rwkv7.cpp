// RWKV7ForCausalLM (flash-linear-attention's Hugging Face layout) -> GGUF
// architecture "rwkv7", with llama.cpp's tensor names, shapes and keys (the
// layout its converter writes, so llama.cpp runs our files):
//   attn.x_{r,w,k,v,a,g} [1, 1, C]  -> time_mix_lerp_fused {C, 1, 1, 6}, F32
//   attn.{w,a,v}_lora.lora.0.weight -> time_mix_{w,a,v}1, lora.2.weight -> ...2,
//   lora.2.bias -> ...0; attn.g_lora.lora.{0,2}.weight -> time_mix_g{1,2}
//   attn.r_k [H, N] -> time_mix_r_k {C}; ffn.x_k -> channel_mix_lerp_k {C}
// Like llama.cpp's converter, time_mix_w1/w2 and the lerps stay F32 in every
// file type (and every 1-D tensor), and layer 0, which has no value-residual
// mix, gets copies of its a0/a1/a2 as v0/v1/v2 because llama.cpp's loader
// requires them (our engine does not read them).
#include <cstdio>
#include <map>

#include "convert/arch_table.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;

const StTensor& require(const HfModel& m, const std::string& name) {
  const StTensor* t = m.find(name);
  if (t == nullptr) throw Error("model.safetensors: missing tensor '" + name + "'");
  return *t;
}

// A low-rank width from config.json, or else from the tensor's shape ([rank, C]).
uint64_t lora_rank(const HfModel& m, const char* key, const std::string& tensor) {
  const uint64_t from_cfg = m.cfg_uint(key, 0);
  if (from_cfg != 0) return from_cfg;
  return require(m, tensor).shape.at(0);
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const uint64_t c = m.cfg_uint("hidden_size");
  const uint64_t n_layer = m.cfg_uint("num_hidden_layers");
  uint64_t head = m.cfg_uint("head_dim", m.cfg_uint("head_size", 0));
  if (head == 0 && m.cfg_uint("num_heads", 0) != 0) head = c / m.cfg_uint("num_heads");
  if (n_layer == 0 || c == 0 || head == 0 || c % head != 0) {
    throw Error("config.json: hidden_size " + std::to_string(c) + " must be a multiple of " +
                "head_dim " + std::to_string(head) + " and num_hidden_layers positive");
  }
  if (m.config().contains("attn") && !m.config()["attn"].is_null()) {
    throw Error("config.json: \"attn\" (attention layers mixed into RWKV-7) is not supported");
  }
  if (!m.cfg_bool("norm_bias", true)) {
    throw Error("config.json: norm_bias false (LayerNorms without bias) is not supported");
  }
  if (m.cfg_bool("tie_word_embeddings", false)) {
    throw Error("config.json: tie_word_embeddings is not supported (rwkv7 needs output.weight)");
  }
  if (const auto vd = m.config().find("value_dim"); vd != m.config().end() && vd->is_array()) {
    for (const auto& d : *vd) {
      if (!d.is_number_integer() || d.get<uint64_t>() != c) {
        throw Error("config.json: value_dim other than hidden_size is not supported");
      }
    }
  }
  const std::string l0 = "model.layers.0.attn.";
  const std::string l1 = n_layer > 1 ? "model.layers.1.attn." : l0;
  const std::string a = "rwkv7.";
  w.set(a + "context_length", u32(1048576));  // a recurrent model: no trained limit
  w.set(a + "embedding_length", u32(c));
  w.set(a + "block_count", u32(n_layer));
  w.set(a + "feed_forward_length",
        u32(m.cfg_uint("intermediate_size",
                       require(m, "model.layers.0.ffn.key.weight").shape.at(0))));
  w.set(a + "attention.layer_norm_epsilon",
        Value::f32(
            static_cast<float>(m.cfg_float("norm_eps", m.cfg_float("layer_norm_epsilon", 1e-5)))));
  w.set(a + "wkv.head_size", u32(head));
  w.set(a + "attention.decay_lora_rank",
        u32(lora_rank(m, "decay_low_rank_dim", l0 + "w_lora.lora.0.weight")));
  w.set(a + "attention.iclr_lora_rank",
        u32(lora_rank(m, "a_low_rank_dim", l0 + "a_lora.lora.0.weight")));
  w.set(a + "attention.value_residual_mix_lora_rank",
        u32(lora_rank(m, "v_low_rank_dim", l1 + "v_lora.lora.0.weight")));
  w.set(a + "attention.gate_lora_rank",
        u32(lora_rank(m, "gate_low_rank_dim", l0 + "g_lora.lora.0.weight")));
  w.set(a + "attention.head_count", u32(0));  // llama.cpp requires the key; RWKV has no attention
}

TensorPlan f32(std::string name) {
  TensorPlan p{std::move(name), {}};
  p.force_f32 = true;
  return p;
}

// A tensor of layer `layer` (the part after "model.layers.N.").
std::optional<TensorPlan> layer_plan(const HfModel& m, uint64_t layer, const std::string& rest) {
  const std::string blk = "blk." + std::to_string(layer) + ".";
  const uint64_t c = m.cfg_uint("hidden_size");
  static const std::map<std::string, std::string> kPlain = {
      {"attn_norm.weight", "attn_norm.weight"},
      {"attn_norm.bias", "attn_norm.bias"},
      {"ffn_norm.weight", "attn_norm_2.weight"},
      {"ffn_norm.bias", "attn_norm_2.bias"},
      {"attn.r_proj.weight", "time_mix_receptance.weight"},
      {"attn.k_proj.weight", "time_mix_key.weight"},
      {"attn.v_proj.weight", "time_mix_value.weight"},
      {"attn.o_proj.weight", "time_mix_output.weight"},
      {"attn.a_lora.lora.0.weight", "time_mix_a1.weight"},
      {"attn.a_lora.lora.2.weight", "time_mix_a2.weight"},
      {"attn.v_lora.lora.0.weight", "time_mix_v1.weight"},
      {"attn.v_lora.lora.2.weight", "time_mix_v2.weight"},
      {"attn.g_lora.lora.0.weight", "time_mix_g1.weight"},
      {"attn.g_lora.lora.2.weight", "time_mix_g2.weight"},
      {"attn.g_norm.weight", "time_mix_ln.weight"},
      {"attn.g_norm.bias", "time_mix_ln.bias"},
      {"ffn.key.weight", "channel_mix_key.weight"},
      {"ffn.value.weight", "channel_mix_value.weight"},
  };
  // 1-D in the GGUF whatever their shape in the checkpoint (r_k is [H, N]).
  static const std::map<std::string, std::string> kVectors = {
      {"attn.w_lora.lora.2.bias", "time_mix_w0.weight"},
      {"attn.a_lora.lora.2.bias", "time_mix_a0.weight"},
      {"attn.v_lora.lora.2.bias", "time_mix_v0.weight"},
      {"attn.k_k", "time_mix_k_k.weight"},
      {"attn.k_a", "time_mix_k_a.weight"},
      {"attn.r_k", "time_mix_r_k.weight"},
      {"ffn.x_k", "channel_mix_lerp_k.weight"},
  };
  if (rest == "pre_norm.weight" || rest == "pre_norm.bias") {
    if (layer != 0) throw Error("pre_norm on layer " + std::to_string(layer) + ", expected 0 only");
    return TensorPlan{"token_embd_norm." + rest.substr(9), {}};
  }
  if (const auto it = kPlain.find(rest); it != kPlain.end()) {
    return TensorPlan{blk + it->second, {}};
  }
  if (const auto it = kVectors.find(rest); it != kVectors.end()) {
    TensorPlan p = f32(blk + it->second);
    p.shape = {c};
    return p;
  }
  if (rest == "attn.w_lora.lora.0.weight") return f32(blk + "time_mix_w1.weight");
  if (rest == "attn.w_lora.lora.2.weight") return f32(blk + "time_mix_w2.weight");
  static const char kLerps[] = "rwkvag";  // the order of time_mix_lerp_fused
  for (uint32_t i = 0; i < 6; ++i) {
    if (rest == std::string("attn.x_") + kLerps[i]) {
      TensorPlan p = f32(blk + "time_mix_lerp_fused.weight");
      p.stack_index = i;
      p.stack_count = 6;
      return p;
    }
  }
  if (rest == "attn.x_x") {  // older checkpoints: the six lerps already stacked, [6, C]
    TensorPlan p = f32(blk + "time_mix_lerp_fused.weight");
    p.shape = {c, 1, 1, 6};
    return p;
  }
  return std::nullopt;
}

// Layer 0 mixes no value residual: llama.cpp's converter drops its v_lora
// (some checkpoints carry a dummy one) and writes copies of a's instead.
std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf_name) {
  static const std::map<std::string, std::string> kGlobal = {
      {"model.embeddings.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"model.norm.bias", "output_norm.bias"},
      {"lm_head.weight", "output.weight"},
  };
  if (const auto it = kGlobal.find(hf_name); it != kGlobal.end()) {
    return TensorPlan{it->second, {}};
  }
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf_name.c_str(), "model.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= m.cfg_uint("num_hidden_layers")) {
      throw Error("tensor '" + hf_name + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    const std::string rest = hf_name.substr(static_cast<size_t>(consumed));
    if (layer == 0 && rest.starts_with("attn.v_lora.")) return std::nullopt;  // see layer_plan
    if (auto plan = layer_plan(m, layer, rest)) return plan;
  }
  throw Error("tensor '" + hf_name + "' has no GGUF name in architecture rwkv7");
}

// A whole tensor as floats, in its row-major order.
std::vector<float> read_all(const StTensor& t) {
  std::vector<float> out(t.n_elements);
  for (uint64_t r = 0; r < t.rows(); ++r) t.row_to_f32(r, out.data() + r * t.cols());
  return out;
}

// Layer 0's v0/v1/v2, which llama.cpp's loader requires: copies of a0/a1/a2.
std::vector<ExtraTensor> extra_tensors(const HfModel& m) {
  const std::string p = "model.layers.0.attn.a_lora.lora.";
  // Named keys: GCC 13 warns about references bound through a temporary argument.
  const std::string k1 = p + "0.weight", k2 = p + "2.weight", k0 = p + "2.bias";
  const StTensor& a1 = require(m, k1);  // [rank, C]
  const StTensor& a2 = require(m, k2);  // [C, rank]
  const StTensor& a0 = require(m, k0);  // [C]
  return {
      ExtraTensor{"blk.0.time_mix_v0.weight", {a0.n_elements}, read_all(a0)},
      ExtraTensor{"blk.0.time_mix_v1.weight", {a1.cols(), a1.rows()}, read_all(a1)},
      ExtraTensor{"blk.0.time_mix_v2.weight", {a2.cols(), a2.rows()}, read_all(a2)},
  };
}

}  // namespace

const ArchConverter& rwkv7_arch_converter() {
  static const ArchConverter c{
      "rwkv7", {"RWKV7ForCausalLM", "Rwkv7ForCausalLM"}, add_hparams, map_tensor, extra_tensors};
  return c;
}

}  // namespace ma::convert
