// The KV cache's pages in device memory (a key and a value array per
// layer) and the block table the attention kernels read; the host keeps
// the page bookkeeping (KvCache) and its table is copied here when a
// sequence's pages change.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/kernels.h"

namespace ma {
class KvCache;
}

namespace ma::cuda {

class DeviceKv {
 public:
  // Allocates every layer's pages and the table (their geometry from kv).
  explicit DeviceKv(const KvCache& kv);

  // ma::Error for a layer the cache does not hold.
  const KvLayerDevice& layer(int64_t i) const;

  // At a step's start: the table through pinned staging, `copied` recorded
  // after the copy (the staging is rewritten only once it has fired).
  void stage_table(const std::vector<int32_t>& pages, cudaStream_t s, cudaEvent_t copied);
  // Outside a step: straight from the host copy of the table.
  void sync_table(const std::vector<int32_t>& pages, cudaStream_t s);

 private:
  std::vector<DeviceBuffer> storage_;
  std::vector<KvLayerDevice> layers_;
  DeviceBuffer table_;
  std::vector<int32_t> table_host_;  // what table_ holds
  PinnedBuffer staging_;
};

}  // namespace ma::cuda
