#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "backend/cuda/device_info.h"
#include "backend/cuda/launch.cuh"

namespace ma::cuda {

bool pdl_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MA_CUDA_PDL");
    if (v != nullptr && std::string(v) == "0") return false;
    return device_info().major >= 9;
  }();
  return enabled;
}

}  // namespace ma::cuda

#ifdef MA_CUDA_TRACE
#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace ma::cuda {
namespace {

struct Trace {
  std::vector<void (*)(unsigned long long*)> setters;
  // Kernels as indices into `kinds`, so a replay appends integers, not ~200
  // strings (host time the trace would count in the gap between steps).
  std::vector<std::string> kinds;
  std::map<std::string, int> kind_of;
  std::vector<int> ran;        // kernels in the order they ran
  std::vector<int> capturing;  // launched into a capturing stream
  std::map<int, std::vector<int>> recorded;
  unsigned long long* buffer = nullptr;
};

Trace& trace() {
  static Trace t;
  return t;
}

// Pairs stamp i with launch i and sums the gap to stamp i + 1 per kernel.
void trace_report() {
  Trace& t = trace();
  std::vector<unsigned long long> stamps(kTraceSlots + 1);
  if (cudaDeviceSynchronize() != cudaSuccess ||
      cudaMemcpy(stamps.data(), t.buffer, stamps.size() * sizeof(unsigned long long),
                 cudaMemcpyDeviceToHost) != cudaSuccess) {
    std::fprintf(stderr, "trace: could not read the stamps\n");
    return;
  }
  const size_t n = static_cast<size_t>(std::min(stamps[0], kTraceSlots));
  std::fprintf(stderr, "trace: %zu stamps, %zu launches\n", n, t.ran.size());
  // Means include the eager steps (their launches are host-bound); the
  // medians are the replayed steps'.
  std::map<std::string, std::vector<double>> by_name;
  double total = 0;
  for (size_t i = 0; i + 1 < std::min(n, t.ran.size()); ++i) {
    const double gap = static_cast<double>(stamps[2 + i] - stamps[1 + i]) * 1e-3;
    by_name[t.kinds[static_cast<size_t>(t.ran[i])]].push_back(gap);
    total += gap;
  }
  struct Row {
    std::string name;
    double sum, median;
    size_t count;
  };
  std::vector<Row> rows;
  for (auto& [name, gaps] : by_name) {
    double sum = 0;
    for (double g : gaps) sum += g;
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2),
                     gaps.end());
    rows.push_back({name, sum, gaps[gaps.size() / 2], gaps.size()});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.sum > b.sum; });
  for (const Row& r : rows) {
    std::fprintf(stderr, "trace: %6.1f%% %8zu x %8.2f us (median %8.2f)  %s\n", 100 * r.sum / total,
                 r.count, r.sum / static_cast<double>(r.count), r.median, r.name.c_str());
  }
}

}  // namespace

void trace_register(void (*set_buffer)(unsigned long long*)) {
  trace().setters.push_back(set_buffer);
}

void trace_launch(const void* kernel, dim3 grid, cudaStream_t s) {
  Trace& t = trace();
  if (t.buffer == nullptr) {
    MA_CUDA_CHECK(cudaMalloc(&t.buffer, (kTraceSlots + 1) * sizeof(unsigned long long)));
    MA_CUDA_CHECK(cudaMemset(t.buffer, 0, sizeof(unsigned long long)));
    for (auto* set : t.setters) set(t.buffer);
    std::atexit(trace_report);
  }
  const char* name = nullptr;
  if (cudaFuncGetName(&name, kernel) != cudaSuccess) name = "?";
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  MA_CUDA_CHECK(cudaStreamIsCapturing(s, &capture));
  const std::string kind =
      std::string(name) + " grid " + std::to_string(grid.x) + "x" + std::to_string(grid.y);
  const auto [it, added] = t.kind_of.try_emplace(kind, static_cast<int>(t.kinds.size()));
  if (added) t.kinds.push_back(kind);
  (capture == cudaStreamCaptureStatusActive ? t.capturing : t.ran).push_back(it->second);
}

void trace_recorded(int slot) {
  Trace& t = trace();
  t.recorded[slot] = std::move(t.capturing);
  t.capturing.clear();
}

void trace_replayed(int slot) {
  Trace& t = trace();
  const std::vector<int>& r = t.recorded[slot];
  t.ran.insert(t.ran.end(), r.begin(), r.end());
}

}  // namespace ma::cuda
#endif
