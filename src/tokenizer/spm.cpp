// SentencePiece-style BPE: start from single characters and repeatedly merge
// the adjacent pair whose concatenation is the highest-scoring token. Pieces
// that end up outside the vocabulary fall back to <0xNN> byte tokens.
#include <queue>

#include "core/error.h"
#include "tokenizer/encoders.h"
#include "tokenizer/utf8.h"

namespace ma::tok {
namespace {

struct Symbol {
  int prev, next;
  size_t offset, len;  // bytes of the text; len 0 once merged away
};

struct Bigram {
  int left, right;
  float score;
  size_t len;  // byte length when queued; stale if the symbols changed since
};

// Highest score first; on ties the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void spm_encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  std::vector<Symbol> syms;
  for (size_t off = 0; off < text.size();) {
    const size_t n = std::min(utf8_seq_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, off + n == text.size() ? -1 : idx + 1, off, n});
    off += n;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view piece = text.substr(syms[left].offset, syms[left].len + syms[right].len);
    const int32_t id = vocab.find(piece);
    if (id == kNoToken) return;
    queue.push({left, right, vocab.scores[id], piece.size()});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_pair(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[b.left];
    Symbol& r = syms[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }

  for (int i = syms.empty() ? -1 : 0; i != -1; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].offset, syms[i].len);
    if (const int32_t id = vocab.find(piece); id != kNoToken) {
      out.push_back(id);
      continue;
    }
    // Merges only form vocabulary tokens, so what is left here is a single
    // character the vocabulary lacks: spell it byte by byte.
    for (char c : piece) {
      int32_t id = vocab.byte_token(static_cast<uint8_t>(c));
      if (id == kNoToken) id = vocab.unk;
      if (id == kNoToken)
        throw Error("SPM vocabulary has no token for byte " +
                    std::to_string(static_cast<uint8_t>(c)) + " and no unknown token");
      out.push_back(id);
    }
  }
}

}  // namespace ma::tok
