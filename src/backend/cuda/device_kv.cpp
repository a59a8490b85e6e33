#include "backend/cuda/device_kv.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "state/kv_cache.h"

namespace ma::cuda {

DeviceKv::DeviceKv(const KvCache& kv) {
  const bool f16 = kv.type() == KvType::kF16;
  const size_t elem = f16 ? 2 : 4;
  const size_t rows = static_cast<size_t>(kv.n_pages() * kv.page_size());
  auto* table = static_cast<int32_t*>(
      table_.grow(static_cast<size_t>(kv.n_pages()) * sizeof(int32_t), "the KV block table"));
  for (int64_t l = 0; l < kv.n_layers(); ++l) {
    const size_t bytes = rows * static_cast<size_t>(kv.row_elems(l)) * elem;
    storage_.emplace_back(bytes, "the KV cache");
    storage_.emplace_back(bytes, "the KV cache");
    KvLayerDevice d;
    d.k = storage_[storage_.size() - 2].get();
    d.v = storage_.back().get();
    d.block_table = table;
    d.page_size = kv.page_size();
    d.row_elems = kv.row_elems(l);
    d.capacity = static_cast<int64_t>(rows);
    d.f16 = f16;
    layers_.push_back(d);
  }
}

const KvLayerDevice& DeviceKv::layer(int64_t i) const {
  if (i < 0 || static_cast<size_t>(i) >= layers_.size()) {
    throw Error("CUDA attention: layer " + std::to_string(i) +
                " has no KV cache (the cache holds " + std::to_string(layers_.size()) + " layers)");
  }
  return layers_[static_cast<size_t>(i)];
}

void DeviceKv::stage_table(const std::vector<int32_t>& pages, cudaStream_t s, cudaEvent_t copied) {
  if (pages == table_host_) return;
  table_host_ = pages;
  const size_t bytes = pages.size() * sizeof(int32_t);
  staging_.grow(table_.bytes());
  std::memcpy(staging_.get(), pages.data(), bytes);
  MA_CUDA_CHECK(cudaMemcpyAsync(table_.get(), staging_.get(), bytes, cudaMemcpyHostToDevice, s));
  MA_CUDA_CHECK(cudaEventRecord(copied, s));
}

void DeviceKv::sync_table(const std::vector<int32_t>& pages, cudaStream_t s) {
  if (pages == table_host_) return;
  table_host_ = pages;
  MA_CUDA_CHECK(cudaMemcpyAsync(table_.get(), table_host_.data(),
                                table_host_.size() * sizeof(int32_t), cudaMemcpyHostToDevice, s));
}

}  // namespace ma::cuda
