#include "convert/hf_vocab.h"

#include <cctype>
#include <map>
#include <optional>
#include <unordered_map>

#include "convert/hf_model.h"
#include "core/error.h"

namespace ma::convert {
namespace {

namespace fs = std::filesystem;
using gguf::Value;
using nlohmann::json;

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  std::vector<std::string> merges;
  std::unordered_map<std::string, int32_t> ids;
};

// Split regexes of byte-level tokenizers we recognise, by llama.cpp pre name.
struct PreRegex {
  const char* name;
  const char* regex;
};
constexpr PreRegex kPreRegexes[] = {
    {"llama-bpe",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
};

std::vector<json> flatten(const json& node) {
  std::vector<json> out;
  if (!node.is_object()) return out;
  const std::string type = node.value("type", "");
  const char* list = type == "Sequence" ? (node.contains("pretokenizers") ? "pretokenizers"
                                           : node.contains("normalizers") ? "normalizers"
                                                                          : "decoders")
                                        : nullptr;
  if (list != nullptr && node.contains(list) && node[list].is_array()) {
    for (const auto& child : node[list]) out.push_back(child);
  } else {
    out.push_back(node);
  }
  return out;
}

// The llama.cpp pre-tokenizer name for a byte-level tokenizer.json.
std::string byte_level_pre(const json& tok, const std::string& label) {
  const auto parts = flatten(tok.value("pre_tokenizer", json()));
  std::optional<std::string> split;
  bool byte_level_regex = false;
  for (const auto& p : parts) {
    const std::string type = p.value("type", "");
    if (type == "ByteLevel") byte_level_regex = p.value("use_regex", true);
    if (type == "Split" && p.contains("pattern") && p["pattern"].is_object() &&
        p["pattern"].contains("Regex") && p["pattern"]["Regex"].is_string()) {
      split = p["pattern"]["Regex"].get<std::string>();
    }
  }
  if (!split && byte_level_regex) return "gpt-2";
  if (split) {
    for (const auto& pre : kPreRegexes) {
      if (*split == pre.regex) return pre.name;
    }
    throw Error(label + ": unrecognised byte-level pre-tokenizer regex " + *split +
                " (recognised: GPT-2 ByteLevel, Llama 3, Qwen2)");
  }
  throw Error(label + ": byte-level BPE without a pre-tokenizer we recognise");
}

bool is_byte_level(const json& tok) {
  for (const char* key : {"pre_tokenizer", "decoder"}) {
    for (const auto& p : flatten(tok.value(key, json()))) {
      if (p.value("type", "") == "ByteLevel") return true;
    }
  }
  return false;
}

// "a b" or ["a", "b"] -> {"a", "b"}.
std::pair<std::string, std::string> split_merge(const json& m, const std::string& label) {
  if (m.is_string()) {
    const std::string s = m.get<std::string>();
    const size_t sp = s.find(' ', 1);
    if (sp == std::string::npos) throw Error(label + ": merge '" + s + "' has no space");
    return {s.substr(0, sp), s.substr(sp + 1)};
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return {m[0].get<std::string>(), m[1].get<std::string>()};
  }
  throw Error(label + ": a merge is neither \"a b\" nor [\"a\", \"b\"]");
}

// "<0xNN>" with two hex digits: SentencePiece's byte-fallback pieces.
bool looks_like_byte_token(const std::string& t) {
  return t.size() == 6 && t.starts_with("<0x") && t[5] == '>' &&
         std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

// Token text of a tokenizer_config entry ("<s>" or {"content": "<s>"}).
std::optional<std::string> token_text(const json& cfg, const std::string& key) {
  if (!cfg.contains(key)) return std::nullopt;
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return std::nullopt;
}

void add_special_ids(const fs::path& dir, const json& tok, const Vocab& v, GgufStreamWriter& w,
                     std::vector<int32_t>& special_ids) {
  const json tcfg = fs::exists(dir / "tokenizer_config.json")
                        ? read_json_file(dir / "tokenizer_config.json")
                        : json::object();
  const json cfg = read_json_file(dir / "config.json");
  struct Role {
    const char* hf;
    const char* gguf;
  };
  for (const Role r :
       {Role{"bos", "bos"}, Role{"eos", "eos"}, Role{"unk", "unknown"}, Role{"pad", "padding"}}) {
    std::optional<int64_t> id;
    if (const auto text = token_text(tcfg, std::string(r.hf) + "_token")) {
      const auto it = v.ids.find(*text);
      if (it != v.ids.end()) id = it->second;
    }
    const std::string id_key = std::string(r.hf) + "_token_id";
    if (!id && cfg.contains(id_key)) {
      const json& j = cfg[id_key].is_array() && !cfg[id_key].empty() ? cfg[id_key][0] : cfg[id_key];
      if (j.is_number_integer()) id = j.get<int64_t>();
    }
    if (!id) continue;
    if (*id < 0 || *id >= static_cast<int64_t>(v.tokens.size())) {
      throw Error(dir.string() + ": " + r.hf + " token id " + std::to_string(*id) +
                  " is outside the vocabulary");
    }
    w.set(std::string("tokenizer.ggml.") + r.gguf + "_token_id",
          Value::u32(static_cast<uint32_t>(*id)));
    special_ids.push_back(static_cast<int32_t>(*id));
  }
  // add_bos/add_eos: explicit in tokenizer_config, else from the post-processor template.
  std::optional<bool> add_bos, add_eos;
  if (tcfg.contains("add_bos_token") && tcfg["add_bos_token"].is_boolean())
    add_bos = tcfg["add_bos_token"].get<bool>();
  if (tcfg.contains("add_eos_token") && tcfg["add_eos_token"].is_boolean())
    add_eos = tcfg["add_eos_token"].get<bool>();
  const json& post = tok.contains("post_processor") ? tok["post_processor"] : json();
  if (post.is_object() && post.value("type", "") == "TemplateProcessing" &&
      post.contains("single") && post["single"].is_array() && !post["single"].empty()) {
    if (!add_bos) add_bos = post["single"].front().contains("SpecialToken");
    if (!add_eos) add_eos = post["single"].back().contains("SpecialToken");
  }
  if (add_bos) w.set("tokenizer.ggml.add_bos_token", Value::boolean(*add_bos));
  if (add_eos) w.set("tokenizer.ggml.add_eos_token", Value::boolean(*add_eos));
  if (tcfg.contains("chat_template") && tcfg["chat_template"].is_string()) {
    w.set("tokenizer.chat_template", Value::str(tcfg["chat_template"].get<std::string>()));
  }
}

// Whether a SentencePiece-style vocabulary prepends U+2581 to the input.
bool adds_space_prefix(const fs::path& dir, const json& tok) {
  if (fs::exists(dir / "tokenizer_config.json")) {
    const json tcfg = read_json_file(dir / "tokenizer_config.json");
    if (tcfg.contains("add_prefix_space") && tcfg["add_prefix_space"].is_boolean()) {
      return tcfg["add_prefix_space"].get<bool>();
    }
  }
  for (const auto& n : flatten(tok.value("normalizer", json()))) {
    if (n.value("type", "") == "Prepend") return true;
  }
  for (const auto& p : flatten(tok.value("pre_tokenizer", json()))) {
    if (p.value("type", "") == "Metaspace") return p.value("prepend_scheme", "always") != "never";
  }
  return false;
}

}  // namespace

uint64_t add_hf_vocab(const fs::path& dir, uint64_t n_vocab, GgufStreamWriter& w) {
  const fs::path path = dir / "tokenizer.json";
  if (!fs::exists(path)) {
    if (fs::exists(dir / "tokenizer.model")) {
      throw Error(
          dir.string() +
          ": only a SentencePiece tokenizer.model was found; converting it "
          "is not supported yet (save the tokenizer with Hugging Face to get tokenizer.json)");
    }
    throw Error(dir.string() + ": no tokenizer.json");
  }
  const std::string label = path.string();
  const json tok = read_json_file(path);
  if (!tok.contains("model") || !tok["model"].is_object()) throw Error(label + ": no \"model\"");
  const json& model = tok["model"];
  const std::string type = model.value("type", "");
  if (type != "BPE") {
    throw Error(label + ": tokenizer model type '" + type + "' is not supported (only BPE)");
  }
  const bool byte_fallback = model.value("byte_fallback", false);
  const bool byte_level = is_byte_level(tok);
  if (!byte_fallback && !byte_level) {
    throw Error(label + ": BPE tokenizer is neither byte-fallback (llama-style) nor byte-level");
  }

  // Tokens by id: the base vocabulary, then added tokens.
  Vocab v;
  std::map<int64_t, std::string> by_id;
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw Error(label + ": no model.vocab");
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      throw Error(label + ": bad id of '" + text + "'");
    by_id[id.get<int64_t>()] = text;
  }
  std::vector<int32_t> special_ids;
  std::map<int64_t, bool> added;  // id -> special
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
    for (const auto& a : tok["added_tokens"]) {
      if (!a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string()) {
        throw Error(label + ": malformed added_tokens entry");
      }
      const int64_t id = a["id"].get<int64_t>();
      by_id[id] = a["content"].get<std::string>();
      added[id] = a.value("special", false);
    }
  }
  if (by_id.empty()) throw Error(label + ": empty vocabulary");
  const uint64_t n_tokens = static_cast<uint64_t>(by_id.rbegin()->first) + 1;
  if (n_tokens > n_vocab) {
    throw Error(label + ": " + std::to_string(n_tokens) + " tokens but the embedding has only " +
                std::to_string(n_vocab) + " rows");
  }
  for (uint64_t i = 0; i < n_vocab; ++i) {
    const auto it = by_id.find(static_cast<int64_t>(i));
    // Ids without a token (holes, or embedding rows past the vocabulary) get unused pads.
    v.tokens.push_back(it != by_id.end() ? it->second : "[PAD" + std::to_string(i) + "]");
    v.types.push_back(it != by_id.end() ? kTokenNormal : kTokenUnused);
    v.ids.emplace(v.tokens.back(), static_cast<int32_t>(i));
  }
  v.scores.assign(v.tokens.size(), 0.0f);

  // Merges: byte-level files store them; llama-style files turn them into scores.
  if (model.contains("merges") && model["merges"].is_array()) {
    int64_t rank = 0;
    for (const auto& m : model["merges"]) {
      auto [a, b] = split_merge(m, label);
      if (byte_level) v.merges.push_back(a + " " + b);
      // SentencePiece merges the highest-scoring pair first; scoring a token
      // by minus the rank of the merge that makes it reproduces BPE order.
      const auto it = v.ids.find(a + b);
      if (it != v.ids.end() && v.scores[it->second] == 0.0f) {
        v.scores[it->second] = -static_cast<float>(rank + 1);
      }
      ++rank;
    }
  }

  w.set("tokenizer.ggml.model", Value::str(byte_level ? "gpt2" : "llama"));
  w.set("tokenizer.ggml.pre", Value::str(byte_level ? byte_level_pre(tok, label) : "default"));
  add_special_ids(dir, tok, v, w, special_ids);
  for (const auto& [id, special] : added) {
    if (special)
      special_ids.push_back(static_cast<int32_t>(id));
    else
      v.types[id] = kTokenUserDefined;
  }
  for (int32_t id : special_ids) v.types[id] = kTokenControl;
  if (!byte_level) {
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      if (v.types[i] == kTokenNormal && looks_like_byte_token(v.tokens[i])) v.types[i] = kTokenByte;
    }
  }

  w.set("tokenizer.ggml.tokens", Value::string_array(v.tokens));
  if (!byte_level) w.set("tokenizer.ggml.scores", Value::f32_array(v.scores));
  w.set("tokenizer.ggml.token_type", Value::i32_array(v.types));
  if (byte_level) {
    w.set("tokenizer.ggml.merges", Value::string_array(v.merges));
  } else {
    w.set("tokenizer.ggml.add_space_prefix", Value::boolean(adds_space_prefix(dir, tok)));
  }
  return v.tokens.size();
}

}  // namespace ma::convert
