// Paged KV cache. Memory for the whole context is allocated once, as fixed-size
// pages of `page_size` token slots per attention layer; a sequence owns a block
// table mapping its logical pages to physical ones. Appending tokens takes pages
// from a free list, so decoding never allocates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ma {

enum class KvType { kF32, kF16 };

// What the attention kernel needs to read one layer of one sequence.
struct KvLayerView {
  const void* k = nullptr;  // [n_pages * page_size x row_elems] in `type`
  const void* v = nullptr;
  const int32_t* block_table = nullptr;
  int64_t page_size = 0;
  int64_t row_elems = 0;  // n_head_kv * head_dim
  KvType type = KvType::kF32;

  // Element offset of token position `pos` in k / v.
  int64_t offset(int64_t pos) const {
    return (static_cast<int64_t>(block_table[pos / page_size]) * page_size + pos % page_size) *
           row_elems;
  }
};

struct KvSequence {
  std::vector<int32_t> pages;  // block table: logical page -> physical page
  int64_t length = 0;          // tokens stored
};

class KvCache {
 public:
  static constexpr int64_t kDefaultPageSize = 16;

  // row_elems[l] = n_head_kv * head_dim of attention layer l. Without host
  // storage the cache only hands out pages (a device backend keeps the rows).
  KvCache(std::vector<int64_t> row_elems, int64_t capacity_tokens, KvType type,
          int64_t page_size = kDefaultPageSize, bool host_storage = true);

  int64_t capacity() const { return n_pages_ * page_size_; }
  int64_t n_layers() const { return static_cast<int64_t>(row_elems_.size()); }
  int64_t row_elems(int64_t layer) const { return row_elems_[static_cast<size_t>(layer)]; }
  int64_t page_size() const { return page_size_; }
  int64_t n_pages() const { return n_pages_; }
  KvType type() const { return type_; }
  size_t bytes() const;

  KvSequence new_sequence() const;
  // Makes room for positions [seq.length, seq.length + n); throws ma::Error when full.
  void reserve(KvSequence& seq, int64_t n);
  // Returns the sequence's pages to the free list.
  void release(KvSequence& seq);

  // Writes K and V rows (row_elems floats each) of `layer` at position `pos`.
  void store(int64_t layer, const KvSequence& seq, int64_t pos, const float* k, const float* v);
  KvLayerView view(int64_t layer, const KvSequence& seq) const;

  // The K and V rows of positions [0, n) of every layer, as one byte string
  // (a snapshot), and the way back into a sequence with room for n tokens.
  std::vector<uint8_t> export_tokens(const KvSequence& seq, int64_t n) const;
  void import_tokens(const KvSequence& seq, int64_t n, const std::vector<uint8_t>& bytes);

 private:
  size_t elem_size() const { return type_ == KvType::kF16 ? 2 : 4; }

  std::vector<int64_t> row_elems_;
  int64_t page_size_;
  int64_t n_pages_;
  KvType type_;
  std::vector<std::vector<uint8_t>> k_;  // per layer
  std::vector<std::vector<uint8_t>> v_;
  std::vector<int32_t> free_pages_;
};

}  // namespace ma
