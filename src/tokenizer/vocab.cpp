#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/bpe_pretokenizer.h"

namespace ma {
namespace {

// GGUF token types, as llama.cpp's converters write them.
uint32_t attr_from_type(int64_t type) {
  switch (type) {
    case 1:
      return kAttrNormal;
    case 2:
      return kAttrUnknown;
    case 3:
      return kAttrControl;
    case 4:
      return kAttrUserDefined;
    case 5:
      return kAttrUnused;
    case 6:
      return kAttrByte;
    default:
      return kAttrUndefined;
  }
}

// Texts that end a turn in common chat vocabularies; older converters did not
// mark them, so (like llama.cpp) they are recognized by text.
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",      "<|im_end|>",         "<|end|>",    "<|return|>", "<|call|>",
    "<end_of_turn>",   "<|endoftext|>",      "<|eom_id|>", "<EOT>",      "_<EOT>",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>",      "<turn|>",
};

void read_tokens(const gguf::File& f, Vocab& v) {
  const gguf::Value* list = f.find("tokenizer.ggml.tokens");
  if (list == nullptr) throw Error(f.label() + ": no tokenizer.ggml.tokens");
  const auto& items = list->as_array("tokenizer.ggml.tokens").items;
  if (items.empty()) throw Error(f.label() + ": tokenizer.ggml.tokens is empty");
  const size_t n = items.size();
  v.tokens.resize(n);
  v.scores.assign(n, 0.0f);
  v.attrs.assign(n, kAttrNormal);
  v.token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string text = items[i].as_string("tokenizer.ggml.tokens");
    if (text.empty()) text = "[EMPTY_" + std::to_string(i) + "]";  // keep ids distinct
    v.token_to_id[text] = static_cast<int32_t>(i);
    v.tokens[i] = std::move(text);
  }
  if (const gguf::Value* s = f.find("tokenizer.ggml.scores")) {
    const auto& a = s->as_array("tokenizer.ggml.scores").items;
    if (a.size() < n)
      throw Error(f.label() + ": tokenizer.ggml.scores is shorter than the vocabulary");
    for (size_t i = 0; i < n; ++i)
      v.scores[i] = static_cast<float>(a[i].as_double("tokenizer.ggml.scores"));
  }
  if (const gguf::Value* t = f.find("tokenizer.ggml.token_type")) {
    const auto& a = t->as_array("tokenizer.ggml.token_type").items;
    if (a.size() < n)
      throw Error(f.label() + ": tokenizer.ggml.token_type is shorter than the vocabulary");
    for (size_t i = 0; i < n; ++i)
      v.attrs[i] = attr_from_type(a[i].as_int("tokenizer.ggml.token_type"));
  }
}

void read_merges(const gguf::File& f, Vocab& v) {
  const gguf::Value* m = f.find("tokenizer.ggml.merges");
  if (m == nullptr) throw Error(f.label() + ": BPE vocabulary without tokenizer.ggml.merges");
  const auto& items = m->as_array("tokenizer.ggml.merges").items;
  v.merge_ranks.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& s = items[i].as_string("tokenizer.ggml.merges");
    // The separator is the first space after the first byte (a part may be a lone space).
    const size_t pos = s.find(' ', 1);
    if (pos == std::string::npos) continue;
    v.merge_ranks.emplace(s, static_cast<int32_t>(i));
  }
}

void read_special_ids(const gguf::File& f, Vocab& v) {
  const std::pair<const char*, int32_t*> keys[] = {
      {"bos_token_id", &v.bos},         {"eos_token_id", &v.eos},
      {"eot_token_id", &v.eot},         {"eom_token_id", &v.eom},
      {"unknown_token_id", &v.unk},     {"seperator_token_id", &v.sep},
      {"padding_token_id", &v.pad},     {"mask_token_id", &v.mask},
      {"fim_pre_token_id", &v.fim_pre}, {"fim_suf_token_id", &v.fim_suf},
      {"fim_mid_token_id", &v.fim_mid}, {"fim_pad_token_id", &v.fim_pad},
      {"fim_rep_token_id", &v.fim_rep}, {"fim_sep_token_id", &v.fim_sep},
      {"prefix_token_id", &v.fim_pre},  {"suffix_token_id", &v.fim_suf},
      {"middle_token_id", &v.fim_mid},
  };
  const auto n = static_cast<int64_t>(v.size());
  for (const auto& [name, id] : keys) {
    if (*id >= n) *id = kNoToken;  // a default that this vocabulary cannot hold
    const gguf::Value* val = f.find(std::string("tokenizer.ggml.") + name);
    if (val == nullptr) continue;
    const int64_t x = val->as_int(name);
    if (x >= 0 && x < n) *id = static_cast<int32_t>(x);  // out of range: keep the default
  }
}

void find_eog(Vocab& v) {
  std::vector<int32_t> eog;
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id != kNoToken) eog.push_back(id);
  }
  for (std::string_view text : kEogTexts) {
    const int32_t id = v.find(text);
    if (id == kNoToken) continue;
    if (v.eot == kNoToken && text != "<|return|>" && text != "<|call|>" && text != "<eos>" &&
        text != "<turn|>" && text != "<|eom_id|>") {
      v.eot = id;
    }
    eog.push_back(id);
    v.attrs[id] |= kAttrControl;  // must not be produced from plain text
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  v.eog_ids = std::move(eog);
}

void build_special_list(const gguf::File& f, Vocab& v) {
  for (int32_t id = 0; id < static_cast<int32_t>(v.size()); ++id) {
    if (v.attrs[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown))
      v.special_tokens.push_back(id);
  }
  // Longest first, so that a special token containing another wins.
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return v.tokens[a].size() > v.tokens[b].size(); });

  // Phi-3 vocabularies eat the whitespace after special tokens (llama.cpp
  // keys this on the model name; the file has no per-token flag for it).
  std::string name = f.get_string("general.name", "");
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : v.special_tokens) v.attrs[id] |= kAttrRstrip;
    if (int32_t id = v.find("</s>"); id != kNoToken) v.attrs[id] |= kAttrRstrip;
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = v.find(t); id != kNoToken) v.attrs[id] &= ~kAttrRstrip;
    }
  }
}

}  // namespace

Vocab Vocab::from_gguf(const gguf::File& f) {
  Vocab v;
  v.model = f.get_string("tokenizer.ggml.model", "");
  if (v.model.empty()) throw Error(f.label() + ": no tokenizer.ggml.model");
  v.pre = f.get_string("tokenizer.ggml.pre", "");
  read_tokens(f, v);

  // Defaults per tokenizer family, before the file's own keys override them.
  if (v.model == "llama") {
    v.type = VocabType::Spm;
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_bos = true, v.add_space_prefix = true;
  } else if (v.model == "gpt2") {
    v.type = VocabType::Bpe;
    read_merges(f, v);
    v.bos = 11, v.eos = 11;
    const BpePreset& preset = bpe_preset(v.pre.empty() ? "default" : v.pre);
    v.ignore_merges = preset.ignore_merges;
    v.add_bos = preset.add_bos;
    if (preset.no_bos) v.bos = kNoToken;
  } else if (v.model == "rwkv") {
    v.type = VocabType::Rwkv;
  } else {
    throw Error(f.label() + ": unsupported tokenizer model '" + v.model + "'");
  }
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);

  read_special_ids(f, v);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", v.add_eos);
  find_eog(v);
  build_special_list(f, v);
  return v;
}

int32_t Vocab::find(std::string_view text) const {
  const auto it = token_to_id.find(std::string(text));
  return it == token_to_id.end() ? kNoToken : it->second;
}

int32_t Vocab::byte_token(uint8_t byte) const {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char spelled[7] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>', 0};
  if (int32_t id = find(spelled); id != kNoToken) return id;
  return find(std::string(1, static_cast<char>(byte)));
}

int32_t Vocab::merge_rank(std::string_view left, std::string_view right) const {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left).push_back(' ');
  key.append(right);
  const auto it = merge_ranks.find(key);
  return it == merge_ranks.end() ? -1 : it->second;
}

bool Vocab::is_eog(int32_t id) const {
  return std::binary_search(eog_ids.begin(), eog_ids.end(), id);
}

void Vocab::check_id(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= size()) {
    throw Error("token id " + std::to_string(id) + " out of range (vocabulary has " +
                std::to_string(size()) + " tokens)");
  }
}

}  // namespace ma
