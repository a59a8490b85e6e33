#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/encoders.h"
#include "tokenizer/special_tokens.h"

namespace ma {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t at; (at = s.find(from, pos)) != std::string_view::npos; pos = at + from.size()) {
    out.append(s.substr(pos, at - pos)).append(to);
  }
  out.append(s.substr(pos));
  return out;
}

// <0xNN> -> the byte NN.
std::string byte_token_value(const std::string& text) {
  if (text.size() == 6 && text.starts_with("<0x") && text.back() == '>') {
    return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
  }
  return text;
}

constexpr uint32_t kSpecialAttrs = kAttrControl | kAttrUnknown | kAttrUserDefined;

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
  return std::make_unique<Tokenizer>(Vocab::from_gguf(file));
}

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  if (vocab_.type == VocabType::Bpe) bpe_ = std::make_unique<tok::BpeEncoder>(vocab_);
  if (vocab_.type == VocabType::Rwkv) rwkv_ = std::make_unique<tok::RwkvEncoder>(vocab_);
  pieces_.resize(vocab_.size());
  for (int32_t id = 0; id < static_cast<int32_t>(vocab_.size()); ++id) pieces_[id] = make_piece(id);
}

Tokenizer::~Tokenizer() = default;

std::string Tokenizer::make_piece(int32_t id) const {
  const std::string& text = vocab_.tokens[id];
  const uint32_t attr = vocab_.attrs[id];
  if (vocab_.type == VocabType::Rwkv) return tok::rwkv_unescape(text);
  if (attr & kSpecialAttrs) return text;
  if (attr & kAttrByte) return byte_token_value(text);
  if (attr & kAttrNormal) {
    if (vocab_.type == VocabType::Spm) return replace_all(text, kSpmSpace, " ");
    // A normal token outside the byte alphabet (some added tokens) is kept as written.
    return tok::byte_decode(text).value_or(text);
  }
  return {};  // unused / undefined tokens render as nothing
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos) {
    if (vocab_.bos == kNoToken) throw Error("vocabulary asks for a BOS token but defines none");
    out.push_back(vocab_.bos);
  }
  bool prev_special = true;  // SPM prefixes a space to text at the start or after a special token
  for (const tok::Fragment& f : tok::split_special(vocab_, text, parse_special)) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view part = text.substr(f.offset, f.length);
    switch (vocab_.type) {
      case VocabType::Spm: {
        std::string s = vocab_.add_space_prefix && prev_special ? " " : "";
        s.append(part);
        tok::spm_encode(vocab_, replace_all(s, " ", kSpmSpace), out);
        break;
      }
      case VocabType::Bpe:
        bpe_->encode(part, out);
        break;
      case VocabType::Rwkv:
        rwkv_->encode(part, out);
        break;
    }
    prev_special = false;
  }
  if (add_special && vocab_.add_eos) {
    if (vocab_.eos == kNoToken) throw Error("vocabulary asks for an EOS token but defines none");
    out.push_back(vocab_.eos);
  }
  return out;
}

const std::string& Tokenizer::token_to_piece(int32_t id) const {
  vocab_.check_id(id);
  return pieces_[id];
}

bool Tokenizer::is_control(int32_t id) const {
  vocab_.check_id(id);
  return (vocab_.attrs[id] & (kAttrControl | kAttrUnknown)) != 0;
}

void Tokenizer::append_piece(std::string& out, int32_t id, bool& at_text_start,
                             bool render_special) const {
  vocab_.check_id(id);
  const uint32_t attr = vocab_.attrs[id];
  if (attr & kSpecialAttrs) {
    at_text_start = true;
    if (render_special || (attr & kAttrUserDefined)) out += pieces_[id];
    return;
  }
  std::string_view piece = pieces_[id];
  if (at_text_start && vocab_.add_space_prefix && vocab_.type == VocabType::Spm &&
      piece.starts_with(' ')) {
    piece.remove_prefix(1);
  }
  at_text_start = false;
  out.append(piece);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool at_start = true;
  for (int32_t id : ids) append_piece(out, id, at_start, render_special);
  return out;
}

}  // namespace ma
