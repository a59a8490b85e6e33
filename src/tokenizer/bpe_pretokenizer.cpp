#include "tokenizer/bpe_pretokenizer.h"

#include <pcre2.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace ma {

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes) {
  for (const std::string& rx : regexes) {
    auto c = std::make_unique<Compiled>();
    int err = 0;
    PCRE2_SIZE err_off = 0;
    // DOLLAR_ENDONLY: '$' means the end of the piece, never "before a final \n".
    const uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK;
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rx.data()), rx.size(), opts, &err,
                            &err_off, nullptr);
    if (c->code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      throw Error("pre-tokenizer regex '" + rx + "' at offset " + std::to_string(err_off) + ": " +
                  reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
    regexes_.push_back(std::move(c));
  }
}

PreTokenizer::~PreTokenizer() = default;

namespace {

struct MatchData {
  pcre2_match_data* md;
  explicit MatchData(const pcre2_code* code)
      : md(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
};

// Re-splits each piece [begin, end) of `text` by one regex. Lookarounds see
// only the piece, as if it were the whole subject.
std::vector<std::pair<size_t, size_t>> split_pieces(
    const pcre2_code* code, std::string_view text,
    const std::vector<std::pair<size_t, size_t>>& in) {
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(in.size() * 2);
  MatchData m(code);
  for (const auto& [begin, end] : in) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + begin);
    const size_t len = end - begin;
    size_t pos = 0, last = 0;
    while (pos <= len) {
      const int rc = pcre2_match(code, subject, len, pos, PCRE2_NO_UTF_CHECK, m.md, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0)
        throw Error("pre-tokenizer regex failed (PCRE2 error " + std::to_string(rc) + ")");
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
      const size_t s = ov[0], e = ov[1];
      if (e == s) {  // an empty match splits nothing; step over one character
        if (s >= len) break;
        pos = s + tok::utf8_seq_len(static_cast<uint8_t>(subject[s]));
        continue;
      }
      if (s > last) out.emplace_back(begin + last, begin + s);
      out.emplace_back(begin + s, begin + e);
      last = pos = e;
    }
    if (last < len) out.emplace_back(begin + last, end);
  }
  return out;
}

}  // namespace

std::vector<std::string> PreTokenizer::split(std::string_view raw) const {
  const std::string text = tok::sanitize_utf8(raw);
  std::vector<std::pair<size_t, size_t>> pieces;
  if (!text.empty()) pieces.emplace_back(0, text.size());
  for (const auto& rx : regexes_) pieces = split_pieces(rx->code, text, pieces);
  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (const auto& [b, e] : pieces) words.emplace_back(text.substr(b, e - b));
  return words;
}

}  // namespace ma
