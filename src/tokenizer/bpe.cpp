// Byte-level BPE: pre-tokenize, spell each word's bytes as GPT-2 byte
// characters, then apply merges in rank order (lowest rank first).
#include <queue>

#include "tokenizer/byte_unicode.h"
#include "tokenizer/encoders.h"
#include "tokenizer/utf8.h"

namespace ma::tok {
namespace {

struct Symbol {
  int prev, next;
  size_t offset, len;  // bytes of the word; len 0 once merged away
};

struct Bigram {
  int left, right;
  int32_t rank;
  size_t left_len, right_len;  // to detect pairs made stale by other merges
};

// Lowest rank first; on ties the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

BpeEncoder::BpeEncoder(const Vocab& vocab)
    : vocab_(vocab), pre_(bpe_preset(vocab.pre.empty() ? "default" : vocab.pre).regexes) {}

void BpeEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
  std::string word;
  for (const std::string& raw : pre_.split(text)) {
    word.clear();
    append_byte_encoded(word, raw);
    encode_word(word, out);
  }
}

void BpeEncoder::encode_word(const std::string& word, std::vector<int32_t>& out) const {
  if (vocab_.ignore_merges) {
    if (const int32_t id = vocab_.find(word); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> syms;
  for (size_t off = 0; off < word.size();) {
    const size_t n = std::min(utf8_seq_len(static_cast<uint8_t>(word[off])), word.size() - off);
    const int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, off + n == word.size() ? -1 : idx + 1, off, n});
    off += n;
  }
  const std::string_view w = word;
  auto piece = [&](int i) { return w.substr(syms[i].offset, syms[i].len); };

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int32_t rank = vocab_.merge_rank(piece(left), piece(right));
    if (rank < 0) return;
    queue.push({left, right, rank, syms[left].len, syms[right].len});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_pair(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[b.left];
    Symbol& r = syms[b.right];
    // Symbols only grow to the right by absorbing neighbours, so equal
    // lengths at the same start mean the same text as when queued.
    if (l.len == 0 || r.len == 0 || l.len != b.left_len || r.len != b.right_len ||
        l.next != b.right) {
      continue;
    }
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }

  for (int i = syms.empty() ? -1 : 0; i != -1; i = syms[i].next) {
    const std::string_view p = piece(i);
    if (const int32_t id = vocab_.find(p); id != kNoToken) {
      out.push_back(id);
      continue;
    }
    // Not a token (a vocabulary without all 256 byte characters): keep
    // whatever single bytes it has, as llama.cpp does.
    for (char c : p) {
      if (const int32_t id = vocab_.find(std::string(1, c)); id != kNoToken) out.push_back(id);
    }
  }
}

}  // namespace ma::tok
