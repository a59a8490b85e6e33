// A tokenizer vocabulary as a GGUF file carries it (tokenizer.ggml.*):
// token strings, scores, types, merges, special-token ids and the flags that
// steer encoding. Loading applies llama.cpp's defaults so that files written
// by its converters tokenize the same way here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ma::gguf {
class File;
}

namespace ma {

enum class VocabType { Spm, Bpe, Rwkv };

// Token attributes (bit set). Derived from tokenizer.ggml.token_type, plus
// strip flags that some model families need.
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 6,  // swallow whitespace to the left when matched in text
  kAttrRstrip = 1u << 7,  // swallow whitespace to the right
};

constexpr int32_t kNoToken = -1;

struct Vocab {
  VocabType type = VocabType::Spm;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre ("" for SPM and RWKV)

  std::vector<std::string> tokens;  // [n_vocab] token text as stored
  std::vector<float> scores;        // [n_vocab] SPM merge priority
  std::vector<uint32_t> attrs;      // [n_vocab] TokenAttr bits
  std::unordered_map<std::string, int32_t> token_to_id;
  std::unordered_map<std::string, int32_t> merge_ranks;  // "left right" -> rank (BPE)

  int32_t bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken;
  int32_t unk = kNoToken, sep = kNoToken, pad = kNoToken, mask = kNoToken;
  int32_t fim_pre = kNoToken, fim_suf = kNoToken, fim_mid = kNoToken;
  int32_t fim_pad = kNoToken, fim_rep = kNoToken, fim_sep = kNoToken;

  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM: a leading ' ' before text that starts a fragment
  bool ignore_merges = false;     // BPE: a pre-token that is a whole token skips merging

  std::vector<int32_t> eog_ids;         // end-of-generation tokens, sorted
  std::vector<int32_t> special_tokens;  // matched in text; longest text first

  static Vocab from_gguf(const gguf::File& file);

  size_t size() const { return tokens.size(); }
  int32_t find(std::string_view text) const;  // kNoToken when absent
  // SPM byte-fallback token for `byte` (<0xNN>, else the 1-char token); kNoToken if none.
  int32_t byte_token(uint8_t byte) const;
  int32_t merge_rank(std::string_view left, std::string_view right) const;  // -1 if none
  bool is_eog(int32_t id) const;
  void check_id(int32_t id) const;  // throws ma::Error when out of range
};

}  // namespace ma
