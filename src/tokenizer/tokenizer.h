// Text <-> token ids for a model, built from the tokenizer a GGUF file
// carries. Matches llama.cpp token for token (SPM, byte-level BPE with the
// pre-tokenizer named by tokenizer.ggml.pre, RWKV world).
//
//   auto tok = Tokenizer::from_gguf(file);
//   std::vector<int32_t> ids = tok->encode(prompt, /*add_special=*/true);
//   std::string text = tok->decode(ids);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace ma::gguf {
class File;
}

namespace ma {

namespace tok {
class BpeEncoder;
class RwkvEncoder;
}  // namespace tok

class Tokenizer {
 public:
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
  explicit Tokenizer(Vocab vocab);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // `add_special`: add BOS/EOS as the vocabulary asks (add_bos_token/add_eos_token).
  // `parse_special`: text spelling a control token becomes that token; pass
  // false for untrusted text, which then tokenizes as ordinary characters.
  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special = true) const;

  // Concatenated bytes of the tokens. Control tokens are rendered as their
  // text unless `render_special` is false. The space an SPM vocabulary puts
  // in front of text is removed again, so decode(encode(x)) == x.
  std::string decode(std::span<const int32_t> ids, bool render_special = true) const;

  // The raw bytes a token stands for (maybe a partial UTF-8 sequence);
  // control tokens give their text. Throws on an id out of range.
  const std::string& token_to_piece(int32_t id) const;

  // Appends one token's bytes as decode() would. `at_text_start` tracks where
  // the encoder would have inserted a leading space; start it at true.
  void append_piece(std::string& out, int32_t id, bool& at_text_start, bool render_special) const;

  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  bool is_eog(int32_t id) const { return vocab_.is_eog(id); }
  bool is_control(int32_t id) const;
  size_t n_vocab() const { return vocab_.size(); }
  const Vocab& vocab() const { return vocab_; }

 private:
  std::string make_piece(int32_t id) const;

  Vocab vocab_;
  std::vector<std::string> pieces_;  // [n_vocab] token_to_piece cache
  std::unique_ptr<tok::BpeEncoder> bpe_;
  std::unique_ptr<tok::RwkvEncoder> rwkv_;
};

}  // namespace ma
