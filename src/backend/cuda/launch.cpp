#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "backend/cuda/launch.cuh"

namespace ma::cuda {

bool pdl_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MA_CUDA_PDL");
    if (v != nullptr && std::string(v) == "0") return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return major >= 9;
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
  std::vector<std::string> names;      // kernels in the order they ran
  std::vector<std::string> capturing;  // launched into a capturing stream
  std::map<int, std::vector<std::string>> recorded;
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
  std::fprintf(stderr, "trace: %zu stamps, %zu launches\n", n, t.names.size());
  std::map<std::string, std::pair<int64_t, double>> by_name;
  double total = 0;
  for (size_t i = 0; i + 1 < std::min(n, t.names.size()); ++i) {
    const double gap = static_cast<double>(stamps[2 + i] - stamps[1 + i]) * 1e-3;
    auto& e = by_name[t.names[i]];
    ++e.first;
    e.second += gap;
    total += gap;
  }
  std::vector<std::pair<std::string, std::pair<int64_t, double>>> rows(by_name.begin(),
                                                                       by_name.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  for (const auto& [name, e] : rows) {
    std::fprintf(stderr, "trace: %6.1f%% %8ld x %8.2f us  %s\n", 100 * e.second / total,
                 static_cast<long>(e.first), e.second / static_cast<double>(e.first), name.c_str());
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
  (capture == cudaStreamCaptureStatusActive ? t.capturing : t.names)
      .push_back(std::string(name) + " grid " + std::to_string(grid.x) + "x" +
                 std::to_string(grid.y));
}

void trace_recorded(int slot) {
  Trace& t = trace();
  t.recorded[slot] = std::move(t.capturing);
  t.capturing.clear();
}

void trace_replayed(int slot) {
  Trace& t = trace();
  const std::vector<std::string>& r = t.recorded[slot];
  t.names.insert(t.names.end(), r.begin(), r.end());
}

}  // namespace ma::cuda
#endif
