// The three segmenters behind Tokenizer. Each turns one run of ordinary text
// (special tokens already cut out) into token ids, appending to `out`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/bpe_pretokenizer.h"
#include "tokenizer/vocab.h"

namespace ma::tok {

// SentencePiece BPE: `text` is already space-escaped (' ' -> U+2581).
void spm_encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

class BpeEncoder {
 public:
  explicit BpeEncoder(const Vocab& vocab);
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  void encode_word(const std::string& word, std::vector<int32_t>& out) const;

  const Vocab& vocab_;
  PreTokenizer pre_;
};

// RWKV "world" tokens are stored as Python bytes literals without the b'...'
// (\xNN, \n, \t, \r, \\ and \' escapes); this gives the raw bytes back.
std::string rwkv_unescape(std::string_view escaped);

class RwkvEncoder {
 public:
  explicit RwkvEncoder(const Vocab& vocab);
  ~RwkvEncoder();
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  struct Node;
  const Vocab& vocab_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace ma::tok
