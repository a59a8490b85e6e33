// RWKV "world" tokenizer: greedy longest match over the byte strings of the
// vocabulary, walked in a byte trie.

#include "core/error.h"
#include "tokenizer/encoders.h"

namespace ma::tok {

// A trie node with a sorted child list; the world vocabulary's 65k tokens
// make a few hundred thousand nodes, too many for 256-wide arrays.
struct RwkvEncoder::Node {
  std::vector<std::pair<uint8_t, int32_t>> children;  // (byte, node index)
  int32_t token = kNoToken;

  int32_t child(uint8_t b) const {
    for (const auto& [c, idx] : children) {
      if (c == b) return idx;
    }
    return -1;
  }
};

std::string rwkv_unescape(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char e = s[++i];
    if (e == 'n') {
      out.push_back('\n');
    } else if (e == 't') {
      out.push_back('\t');
    } else if (e == 'r') {
      out.push_back('\r');
    } else if (e == 'x' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(e);  // \\ and \' and anything else stand for themselves
    }
  }
  return out;
}

RwkvEncoder::RwkvEncoder(const Vocab& vocab) : vocab_(vocab) {
  nodes_.emplace_back();
  for (int32_t id = 0; id < static_cast<int32_t>(vocab.size()); ++id) {
    // Control and padding tokens are reached only through special-token
    // matching, so plain text can never produce them (llama.cpp's trie holds
    // every token; this differs only for text spelling "<s>" or "[PADn]").
    if (vocab.attrs[id] & (kAttrControl | kAttrUnused)) continue;
    const std::string bytes = rwkv_unescape(vocab.tokens[id]);
    int32_t node = 0;
    for (char c : bytes) {
      const auto b = static_cast<uint8_t>(c);
      int32_t next = nodes_[node].child(b);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(b, next);
        nodes_.emplace_back();
      }
      node = next;
    }
    if (node != 0) nodes_[node].token = id;  // a repeated spelling: the last id wins
  }
}

RwkvEncoder::~RwkvEncoder() = default;

void RwkvEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t node = 0, best = kNoToken;
    size_t best_end = pos;
    for (size_t i = pos; i < text.size(); ++i) {
      node = nodes_[node].child(static_cast<uint8_t>(text[i]));
      if (node < 0) break;
      if (nodes_[node].token != kNoToken) best = nodes_[node].token, best_end = i + 1;
    }
    if (best == kNoToken) {
      if (vocab_.unk == kNoToken) {
        throw Error("RWKV vocabulary has no token for byte " +
                    std::to_string(static_cast<uint8_t>(text[pos])) + " at offset " +
                    std::to_string(pos));
      }
      out.push_back(vocab_.unk);
      ++pos;
      continue;
    }
    out.push_back(best);
    pos = best_end;
  }
}

}  // namespace ma::tok
