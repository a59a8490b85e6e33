#include "model/model_info.h"

#include <algorithm>

namespace ma {
namespace {

std::optional<uint64_t> opt_uint(const gguf::File& f, const std::string& key) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr || !v->is_integer()) return std::nullopt;
  return v->as_uint(key);
}

std::optional<double> opt_float(const gguf::File& f, const std::string& key) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->as_double(key);
}

// A count that is one number, or one per layer (hybrid models store arrays).
std::vector<uint64_t> uint_or_array(const gguf::File& f, const std::string& key) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr) return {};
  if (v->type == gguf::ValueType::ARRAY) {
    std::vector<uint64_t> out;
    for (const auto& item : v->as_array(key).items) out.push_back(item.as_uint(key));
    return out;
  }
  return {v->as_uint(key)};
}

// The sequence mixer of layer `i`, recognised by llama.cpp's tensor names.
char mixer_letter(const gguf::File& f, uint64_t i) {
  const std::string blk = "blk." + std::to_string(i) + ".";
  auto has = [&](const char* suffix) { return f.find_tensor(blk + suffix) != nullptr; };
  // Zamba-2's hybrid layers run attention (a shared block) before Mamba-2.
  if (has("attn_q.weight") || has("attn_qkv.weight") || has("shared_out.weight")) return 'A';
  if (has("ssm_in.weight")) return has("ssm_x.weight") ? 'M' : '2';  // Mamba-2 has no x_proj
  if (has("time_mix_r.weight") || has("time_mix_receptance.weight")) return 'R';
  if (has("rglru_a.weight") || has("rg_lru.a_param")) return 'G';
  return '?';
}

uint64_t head_count_at(const std::vector<uint64_t>& v, uint64_t layer) {
  if (v.empty()) return 0;
  return v.size() == 1 ? v[0] : (layer < v.size() ? v[layer] : 0);
}

}  // namespace

ModelInfo ModelInfo::from_gguf(const gguf::File& f) {
  ModelInfo info;
  info.path = f.label();
  info.gguf_version = f.version();
  info.alignment = f.alignment();
  info.file_size = f.file_size();
  info.architecture = f.architecture();
  info.name = f.get_string("general.name", "");
  info.n_tensors = f.tensors().size();
  bool untied_head = false;
  uint64_t embedding_bytes = 0;
  for (const auto& t : f.tensors()) {
    info.n_params += t.n_elements;
    info.weight_bytes += t.n_bytes;
    ++info.tensor_types[std::string(ggml_type_name(t.type))];
    if (t.name == "output.weight") untied_head = true;
    if (t.name == "token_embd.weight") embedding_bytes = t.n_bytes;
  }
  info.decode_bytes = info.weight_bytes - (untied_head ? embedding_bytes : 0);

  const std::string a = info.architecture + ".";
  info.n_layers = opt_uint(f, a + "block_count");
  info.n_embd = opt_uint(f, a + "embedding_length");
  info.n_ff = opt_uint(f, a + "feed_forward_length");
  info.n_ctx = opt_uint(f, a + "context_length");
  info.n_head = uint_or_array(f, a + "attention.head_count");
  info.n_head_kv = uint_or_array(f, a + "attention.head_count_kv");
  info.head_dim = opt_uint(f, a + "attention.key_length");
  // RWKV: the heads of the wkv state (its head_count key is 0).
  if (const auto wkv = opt_uint(f, a + "wkv.head_size"); wkv && *wkv > 0 && !info.head_dim) {
    info.head_dim = wkv;
    const bool no_heads = info.n_head.empty() || (info.n_head.size() == 1 && info.n_head[0] == 0);
    if (no_heads && info.n_embd) info.n_head = {*info.n_embd / *wkv};
  }
  if (!info.head_dim && info.n_embd && !info.n_head.empty()) {
    const uint64_t h = *std::max_element(info.n_head.begin(), info.n_head.end());
    if (h > 0) info.head_dim = *info.n_embd / h;
  }
  info.rope_dims = opt_uint(f, a + "rope.dimension_count");
  info.rope_freq_base = opt_float(f, a + "rope.freq_base");
  info.rope_scaling = f.get_string(a + "rope.scaling.type", "none");
  info.rope_scaling_factor = opt_float(f, a + "rope.scaling.factor");
  info.rope_original_ctx = opt_uint(f, a + "rope.scaling.original_context_length");

  const uint64_t layers = info.n_layers.value_or(0);
  for (uint64_t i = 0; i < layers && i < 100000; ++i) info.schedule.push_back(mixer_letter(f, i));

  // F16 K and V for every attention layer at the full context.
  if (info.n_ctx && info.head_dim) {
    for (uint64_t i = 0; i < info.schedule.size(); ++i) {
      if (info.schedule[i] != 'A') continue;
      const uint64_t kv =
          info.n_head_kv.empty() ? head_count_at(info.n_head, i) : head_count_at(info.n_head_kv, i);
      info.kv_cache_bytes += 2 * *info.n_ctx * kv * *info.head_dim * 2;
    }
  }

  info.vocab_model = f.get_string("tokenizer.ggml.model", "");
  info.vocab_pre = f.get_string("tokenizer.ggml.pre", "");
  const gguf::Value* tokens = f.find("tokenizer.ggml.tokens");
  if (tokens != nullptr) info.vocab_size = tokens->as_array("tokenizer.ggml.tokens").items.size();
  static const std::pair<const char*, const char*> kRoles[] = {
      {"bos", "tokenizer.ggml.bos_token_id"},       {"eos", "tokenizer.ggml.eos_token_id"},
      {"eot", "tokenizer.ggml.eot_token_id"},       {"eom", "tokenizer.ggml.eom_token_id"},
      {"unk", "tokenizer.ggml.unknown_token_id"},   {"pad", "tokenizer.ggml.padding_token_id"},
      {"sep", "tokenizer.ggml.seperator_token_id"}, {"mask", "tokenizer.ggml.mask_token_id"},
  };
  for (const auto& [role, key] : kRoles) {
    const gguf::Value* v = f.find(key);
    if (v == nullptr || !v->is_integer()) continue;
    SpecialToken st{role, v->as_int(key), ""};
    if (tokens != nullptr && st.id >= 0 && static_cast<uint64_t>(st.id) < info.vocab_size) {
      const auto& item =
          tokens->as_array("tokenizer.ggml.tokens").items[static_cast<size_t>(st.id)];
      if (item.type == gguf::ValueType::STRING) st.text = item.as_string("token");
    }
    info.special_tokens.push_back(std::move(st));
  }
  return info;
}

}  // namespace ma
