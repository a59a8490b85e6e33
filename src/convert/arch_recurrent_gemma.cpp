// RecurrentGemmaForCausalLM -> GGUF architecture "recurrentgemma", a layout of
// our own (docs/gguf-architectures.md; llama.cpp has none). Gemma's RMSNorm
// scales by (1 + w): the converter stores 1 + w, as llama.cpp does for Gemma,
// so the engine's plain RMSNorm applies. The block-diagonal gate weights,
// which transformers keeps as [H, B in, B out], are written transposed as H
// ggml matrices {B in, B out}; they, the conv1d weight (squeezed to {K, W})
// and Lambda stay F32 in quantized files. q and k keep Hugging Face's row
// order (RoPE rotates the first half of each head, neox-style).
#include <cstdio>
#include <map>

#include "convert/arch_table.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;
using nlohmann::json;

// A RoPE setting from rope_parameters (newer transformers) or the top level (older).
double rope_setting(const HfModel& m, const char* key, double fallback) {
  const auto it = m.config().find("rope_parameters");
  if (it != m.config().end() && it->is_object() && it->contains(key) && (*it)[key].is_number()) {
    return (*it)[key].get<double>();
  }
  return m.cfg_float(key, fallback);
}

void check_config(const HfModel& m) {
  const std::string act = m.config().value("hidden_activation", std::string("gelu_pytorch_tanh"));
  if (act != "gelu_pytorch_tanh" && act != "gelu_new") {
    throw Error("config.json: hidden_activation '" + act +
                "' is not supported (RecurrentGemma uses the tanh GeLU, gelu_pytorch_tanh)");
  }
  if (m.cfg_bool("attention_bias", false)) {
    throw Error("config.json: attention_bias = true (q/k/v biases) is not supported");
  }
  const auto rp = m.config().find("rope_parameters");
  if (rp != m.config().end() && rp->is_object() &&
      rp->value("rope_type", std::string("default")) != "default") {
    throw Error("config.json: RecurrentGemma supports only the default RoPE, not '" +
                rp->value("rope_type", std::string()) + "'");
  }
  const auto bt = m.config().find("block_types");
  if (bt != m.config().end() && bt->is_array()) {
    for (const auto& b : *bt) {
      if (!b.is_string() || (b != "recurrent" && b != "attention")) {
        throw Error("config.json: block_types holds " + b.dump() +
                    " (expected \"recurrent\" or \"attention\")");
      }
    }
  }
}

void add_hparams(const HfModel& m, GgufStreamWriter& w) {
  check_config(m);
  auto u32 = [](uint64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  auto f32 = [](double v) { return Value::f32(static_cast<float>(v)); };
  const uint64_t e = m.cfg_uint("hidden_size");
  const uint64_t n_head = m.cfg_uint("num_attention_heads");
  if (n_head == 0 || e % n_head != 0) {
    throw Error("config.json: hidden_size " + std::to_string(e) + " is not a multiple of " +
                std::to_string(n_head) + " attention heads");
  }
  const uint64_t head_dim = e / n_head;  // transformers derives it; a "head_dim" key is ignored
  const double partial = rope_setting(m, "partial_rotary_factor", 0.5);
  const std::string a = "recurrentgemma.";
  // The model trained on sequences of 8192 tokens; attention is local, so it is no hard limit.
  w.set(a + "context_length", u32(m.cfg_uint("max_position_embeddings", 8192)));
  w.set(a + "embedding_length", u32(e));
  w.set(a + "block_count", u32(m.cfg_uint("num_hidden_layers")));
  // transformers' MLP is intermediate_size // 2 wide.
  w.set(a + "feed_forward_length", u32(m.cfg_uint("intermediate_size") / 2));
  w.set(a + "attention.head_count", u32(n_head));
  w.set(a + "attention.head_count_kv", u32(m.cfg_uint("num_key_value_heads", n_head)));
  w.set(a + "attention.key_length", u32(head_dim));
  w.set(a + "attention.value_length", u32(head_dim));
  w.set(a + "attention.sliding_window", u32(m.cfg_uint("attention_window_size", 2048)));
  w.set(a + "attention.layer_norm_rms_epsilon", f32(m.cfg_float("rms_norm_eps", 1e-6)));
  w.set(a + "rope.dimension_count",
        u32(static_cast<uint64_t>(static_cast<double>(head_dim) * partial)));
  w.set(a + "rope.freq_base", f32(rope_setting(m, "rope_theta", 10000.0)));
  w.set(a + "rglru.width", u32(m.cfg_uint("lru_width", e)));
  w.set(a + "rglru.head_count", u32(n_head));
  w.set(a + "rglru.conv_kernel", u32(m.cfg_uint("conv1d_width", 4)));
  w.set(a + "final_logit_softcapping", f32(m.cfg_float("logits_soft_cap", 30.0)));
}

float plus_one(float w) {
  return w + 1.0f;
}

struct LayerTensor {
  const char* gguf;
  bool plus_one = false;  // a Gemma norm: store 1 + w
  bool f32 = false;       // stays F32 in quantized files
  bool squeeze = false;   // conv1d {W, 1, K} -> {K, W}
  bool flatten = false;   // gate bias [H, B] -> [W]
};

// The gate weights are written by extra_tensors (transposed), not copied.
constexpr const char* kGateWeights[][2] = {
    {"temporal_block.rg_lru.input_gate_weight", "rglru_gate_x.weight"},
    {"temporal_block.rg_lru.recurrent_gate_weight", "rglru_gate_a.weight"},
};

std::optional<TensorPlan> map_tensor(const HfModel& m, const std::string& hf) {
  static const std::map<std::string, LayerTensor> kLayer = {
      {"temporal_pre_norm.weight", {"attn_norm.weight", true}},
      {"channel_pre_norm.weight", {"ffn_norm.weight", true}},
      {"mlp_block.gate_proj.weight", {"ffn_gate.weight"}},
      {"mlp_block.gate_proj.bias", {"ffn_gate.bias"}},
      {"mlp_block.up_proj.weight", {"ffn_up.weight"}},
      {"mlp_block.up_proj.bias", {"ffn_up.bias"}},
      {"mlp_block.down_proj.weight", {"ffn_down.weight"}},
      {"mlp_block.down_proj.bias", {"ffn_down.bias"}},
      {"temporal_block.linear_x.weight", {"rglru_x.weight"}},
      {"temporal_block.linear_x.bias", {"rglru_x.bias"}},
      {"temporal_block.linear_y.weight", {"rglru_y.weight"}},
      {"temporal_block.linear_y.bias", {"rglru_y.bias"}},
      {"temporal_block.linear_out.weight", {"rglru_out.weight"}},
      {"temporal_block.linear_out.bias", {"rglru_out.bias"}},
      {"temporal_block.conv_1d.weight", {"rglru_conv1d.weight", false, true, true}},
      {"temporal_block.conv_1d.bias", {"rglru_conv1d.bias"}},
      {"temporal_block.rg_lru.recurrent_param", {"rglru_a.weight", false, true}},
      {"temporal_block.rg_lru.input_gate_bias", {"rglru_gate_x.bias", false, true, false, true}},
      {"temporal_block.rg_lru.recurrent_gate_bias",
       {"rglru_gate_a.bias", false, true, false, true}},
      {"temporal_block.q_proj.weight", {"attn_q.weight"}},
      {"temporal_block.k_proj.weight", {"attn_k.weight"}},
      {"temporal_block.v_proj.weight", {"attn_v.weight"}},
      {"temporal_block.o_proj.weight", {"attn_output.weight"}},
      {"temporal_block.o_proj.bias", {"attn_output.bias"}},
  };
  if (hf.ends_with(".rotary_emb.inv_freq") || hf == "model.normalizer") {
    return std::nullopt;  // recomputed at run time
  }
  if (hf == "model.embed_tokens.weight") return TensorPlan{"token_embd.weight", {}};
  if (hf == "model.final_norm.weight") {
    TensorPlan plan{"output_norm.weight", {}};
    plan.value = plus_one;
    return plan;
  }
  if (hf == "lm_head.weight") {
    // Tied checkpoints may still carry a copy; the embedding is the head then.
    if (m.cfg_bool("tie_word_embeddings", true) && m.find("model.embed_tokens.weight")) {
      return std::nullopt;
    }
    return TensorPlan{m.find("model.embed_tokens.weight") ? "output.weight" : "token_embd.weight",
                      {}};
  }
  unsigned layer = 0;
  int consumed = 0;
  if (std::sscanf(hf.c_str(), "model.layers.%u.%n", &layer, &consumed) == 1 && consumed > 0) {
    if (layer >= m.cfg_uint("num_hidden_layers")) {
      throw Error("tensor '" + hf + "': layer " + std::to_string(layer) +
                  " is past num_hidden_layers");
    }
    const std::string suffix = hf.substr(static_cast<size_t>(consumed));
    for (const auto& gate : kGateWeights) {
      if (suffix == gate[0]) return std::nullopt;
    }
    const auto it = kLayer.find(suffix);
    if (it != kLayer.end()) {
      const LayerTensor& lt = it->second;
      TensorPlan plan{"blk." + std::to_string(layer) + "." + lt.gguf, {}};
      if (lt.plus_one) plan.value = plus_one;
      plan.force_f32 = lt.f32;
      plan.squeeze = lt.squeeze;
      if (lt.flatten) plan.shape = {m.find(hf)->n_elements};
      return plan;
    }
  }
  throw Error("tensor '" + hf + "' has no GGUF name in architecture recurrentgemma");
}

// The block-diagonal gates, [H, B in, B out] in the checkpoint, as H ggml
// matrices {B in, B out}: element (h, j, i) = checkpoint (h, i, j).
std::vector<ExtraTensor> extra_tensors(const HfModel& m) {
  std::vector<ExtraTensor> out;
  const uint64_t n_layer = m.cfg_uint("num_hidden_layers");
  for (uint64_t l = 0; l < n_layer; ++l) {
    for (const auto& gate : kGateWeights) {
      const std::string hf = "model.layers." + std::to_string(l) + "." + gate[0];
      const StTensor* t = m.find(hf);
      if (t == nullptr) continue;
      if (t->shape.size() != 3 || t->shape[1] != t->shape[2]) {
        throw Error("tensor '" + hf + "' is not a stack of square blocks [H, B, B]");
      }
      const uint64_t h = t->shape[0], b = t->shape[1];
      std::vector<float> row(b), data(h * b * b);
      for (uint64_t k = 0; k < h; ++k) {
        for (uint64_t i = 0; i < b; ++i) {
          t->row_to_f32(k * b + i, row.data());
          for (uint64_t j = 0; j < b; ++j) data[(k * b + j) * b + i] = row[j];
        }
      }
      out.push_back({"blk." + std::to_string(l) + "." + gate[1], {b, b, h}, std::move(data)});
    }
  }
  return out;
}

}  // namespace

const ArchConverter& recurrent_gemma_arch_converter() {
  static const ArchConverter c{
      "recurrentgemma", {"RecurrentGemmaForCausalLM"}, add_hparams, map_tensor, extra_tensors};
  return c;
}

}  // namespace ma::convert
