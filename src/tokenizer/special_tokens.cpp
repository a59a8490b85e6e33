#include "tokenizer/special_tokens.h"

namespace ma::tok {
namespace {

bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// Splits one text fragment on every occurrence of `id`'s text.
void split_on(const Vocab& vocab, std::string_view text, int32_t id, const Fragment& frag,
              std::vector<Fragment>& out) {
  const std::string& needle = vocab.tokens[id];
  const uint32_t attr = vocab.attrs[id];
  size_t begin = frag.offset;
  const size_t end = frag.offset + frag.length;
  while (begin < end) {
    const size_t at = text.substr(0, end).find(needle, begin);
    if (at == std::string_view::npos) break;
    size_t left_end = at;
    if (attr & kAttrLstrip) {
      while (left_end > begin && is_space(text[left_end - 1])) --left_end;
    }
    if (left_end > begin) out.push_back({kNoToken, begin, left_end - begin});
    out.push_back({id, 0, 0});
    begin = at + needle.size();
    if (attr & kAttrRstrip) {
      while (begin < end && is_space(text[begin])) ++begin;
    }
  }
  if (begin < end) out.push_back({kNoToken, begin, end - begin});
}

}  // namespace

std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({kNoToken, 0, text.size()});
  std::vector<Fragment> next;
  for (const int32_t id : vocab.special_tokens) {
    if (!parse_special && (vocab.attrs[id] & (kAttrControl | kAttrUnknown))) continue;
    const std::string& needle = vocab.tokens[id];
    if (needle.empty()) continue;
    // Cheap pre-check: most special tokens occur nowhere in the text.
    bool present = false;
    for (const Fragment& f : frags) {
      if (f.token == kNoToken &&
          text.substr(f.offset, f.length).find(needle) != std::string_view::npos) {
        present = true;
        break;
      }
    }
    if (!present) continue;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token != kNoToken) {
        next.push_back(f);
      } else {
        split_on(vocab, text, id, f, next);
      }
    }
    frags.swap(next);
  }
  return frags;
}

}  // namespace ma::tok
