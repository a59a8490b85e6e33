#include "state/kv_cache.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "core/fp16.h"

namespace ma {

KvCache::KvCache(std::vector<int64_t> row_elems, int64_t capacity_tokens, KvType type,
                 int64_t page_size, bool host_storage)
    : row_elems_(std::move(row_elems)),
      page_size_(page_size),
      n_pages_((capacity_tokens + page_size - 1) / page_size),
      type_(type) {
  if (capacity_tokens <= 0) throw Error("KV cache: context size must be positive");
  for (int64_t re : row_elems_) {
    const size_t bytes =
        host_storage ? static_cast<size_t>(n_pages_ * page_size_ * re) * elem_size() : 0;
    k_.emplace_back(bytes);
    v_.emplace_back(bytes);
  }
  free_pages_.reserve(static_cast<size_t>(n_pages_));
  for (int64_t p = n_pages_ - 1; p >= 0; --p) free_pages_.push_back(static_cast<int32_t>(p));
}

size_t KvCache::bytes() const {
  size_t total = 0;
  for (size_t l = 0; l < k_.size(); ++l) total += k_[l].size() + v_[l].size();
  return total;
}

KvSequence KvCache::new_sequence() const {
  KvSequence seq;
  seq.pages.reserve(static_cast<size_t>(n_pages_));
  return seq;
}

void KvCache::reserve(KvSequence& seq, int64_t n) {
  const int64_t needed_tokens = seq.length + n;
  const int64_t needed_pages = (needed_tokens + page_size_ - 1) / page_size_;
  const int64_t missing = needed_pages - static_cast<int64_t>(seq.pages.size());
  if (missing > static_cast<int64_t>(free_pages_.size())) {
    throw Error("context is full: " + std::to_string(needed_tokens) +
                " tokens do not fit in the context of " + std::to_string(capacity()) +
                " tokens (raise -c)");
  }
  for (int64_t i = 0; i < missing; ++i) {
    seq.pages.push_back(free_pages_.back());
    free_pages_.pop_back();
  }
}

void KvCache::release(KvSequence& seq) {
  for (int32_t p : seq.pages) free_pages_.push_back(p);
  seq.pages.clear();
  seq.length = 0;
}

void KvCache::store(int64_t layer, const KvSequence& seq, int64_t pos, const float* k,
                    const float* v) {
  const KvLayerView view = this->view(layer, seq);
  const int64_t off = view.offset(pos);
  const int64_t n = row_elems_[static_cast<size_t>(layer)];
  if (type_ == KvType::kF32) {
    std::memcpy(reinterpret_cast<float*>(k_[static_cast<size_t>(layer)].data()) + off, k,
                static_cast<size_t>(n) * 4);
    std::memcpy(reinterpret_cast<float*>(v_[static_cast<size_t>(layer)].data()) + off, v,
                static_cast<size_t>(n) * 4);
  } else {
    auto* kd = reinterpret_cast<uint16_t*>(k_[static_cast<size_t>(layer)].data()) + off;
    auto* vd = reinterpret_cast<uint16_t*>(v_[static_cast<size_t>(layer)].data()) + off;
    for (int64_t i = 0; i < n; ++i) {
      kd[i] = fp32_to_fp16(k[i]);
      vd[i] = fp32_to_fp16(v[i]);
    }
  }
}

KvLayerView KvCache::view(int64_t layer, const KvSequence& seq) const {
  KvLayerView v;
  v.k = k_[static_cast<size_t>(layer)].data();
  v.v = v_[static_cast<size_t>(layer)].data();
  v.block_table = seq.pages.data();
  v.page_size = page_size_;
  v.row_elems = row_elems_[static_cast<size_t>(layer)];
  v.type = type_;
  return v;
}

std::vector<uint8_t> KvCache::export_tokens(const KvSequence& seq, int64_t n) const {
  std::vector<uint8_t> out;
  for (int64_t l = 0; l < n_layers(); ++l) {
    const KvLayerView view = this->view(l, seq);
    const size_t row_bytes = static_cast<size_t>(view.row_elems) * elem_size();
    for (const auto* buf : {&k_[static_cast<size_t>(l)], &v_[static_cast<size_t>(l)]}) {
      for (int64_t pos = 0; pos < n; ++pos) {
        const uint8_t* src = buf->data() + static_cast<size_t>(view.offset(pos)) * elem_size();
        out.insert(out.end(), src, src + row_bytes);
      }
    }
  }
  return out;
}

void KvCache::import_tokens(const KvSequence& seq, int64_t n, const std::vector<uint8_t>& bytes) {
  size_t at = 0;
  for (int64_t l = 0; l < n_layers(); ++l) {
    const KvLayerView view = this->view(l, seq);
    const size_t row_bytes = static_cast<size_t>(view.row_elems) * elem_size();
    for (auto* buf : {&k_[static_cast<size_t>(l)], &v_[static_cast<size_t>(l)]}) {
      for (int64_t pos = 0; pos < n; ++pos) {
        if (at + row_bytes > bytes.size()) throw Error("KV snapshot is truncated");
        std::memcpy(buf->data() + static_cast<size_t>(view.offset(pos)) * elem_size(),
                    bytes.data() + at, row_bytes);
        at += row_bytes;
      }
    }
  }
  if (at != bytes.size()) throw Error("KV snapshot does not match this cache's shape");
}

}  // namespace ma
