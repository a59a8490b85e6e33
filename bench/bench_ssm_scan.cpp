// Sequential against chunked paths of the two CPU scans, at the shapes of
// the Mamba / Mamba-2 130M models and at a few narrow ones. Build with
// -DMA_BUILD_BENCH=ON; run, e.g.
//   build/ma_bench --benchmark_filter=Ssd --benchmark_min_time=0.5
// Arguments: tokens, then channels (Mamba-1) or heads (Mamba-2); the pool
// has the machine's threads unless MA_BENCH_THREADS says otherwise.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "backend/cpu/small_gemm.h"
#include "backend/cpu/ssm.h"

namespace ma {
namespace {

ThreadPool& bench_pool() {
  static ThreadPool pool([] {
    const char* env = std::getenv("MA_BENCH_THREADS");
    return env != nullptr ? std::atoi(env) : 0;
  }());
  return pool;
}

std::vector<float> normal(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

size_t sz(int64_t v) {
  return static_cast<size_t>(v);
}

// Mamba-2 130M: 24 heads of 64 channels, 128 states, one group.
template <bool kChunked>
void BM_SsdScan(benchmark::State& st) {
  const int64_t T = st.range(0);
  const ref::SsdShape s{st.range(1), 64, 128, 1};
  const int64_t width = s.n_head * s.head_dim, bc_stride = 2 * s.d_state;
  const auto x = normal(sz(T * width), 1, 1.0f);
  auto dt = normal(sz(T * s.n_head), 2, 1.0f);
  for (auto& v : dt) v = cpu::softplus(v - 1.0f);
  auto a = normal(sz(s.n_head), 3, 1.0f);
  for (auto& v : a) v = -std::exp(v);
  const auto bc = normal(sz(T * bc_stride), 4, 0.5f), skip = normal(sz(s.n_head), 5, 1.0f);
  std::vector<float> h(sz(width * s.d_state)), y(sz(T * width));
  ThreadPool& pool = bench_pool();
  for (auto _ : st) {
    const auto scan = [&](auto&&... args) {
      if constexpr (kChunked) {
        cpu::ssd_scan_chunked(args...);
      } else {
        cpu::ssd_scan_sequential(args...);
      }
    };
    scan(pool, x.data(), width, dt.data(), a.data(), bc.data(), bc.data() + s.d_state, bc_stride,
         skip.data(), T, s, h.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(T), benchmark::Counter::kIsIterationInvariantRate);
}

// Mamba 130M: 1536 channels of 16 states; narrower widths show where
// chunking in time starts to pay.
template <bool kChunked>
void BM_SelectiveScan(benchmark::State& st) {
  const int64_t T = st.range(0), D = st.range(1), N = 16, bc_stride = 2 * N;
  const auto x = normal(sz(T * D), 1, 1.0f);
  auto dt = normal(sz(T * D), 2, 1.0f);
  for (auto& v : dt) v = cpu::softplus(v - 1.0f);
  auto a = normal(sz(D * N), 3, 1.0f);
  for (auto& v : a) v = -std::exp(0.5f * v);
  const auto bc = normal(sz(T * bc_stride), 4, 1.0f), skip = normal(sz(D), 5, 1.0f);
  std::vector<float> h(sz(D * N)), y(sz(T * D));
  ThreadPool& pool = bench_pool();
  for (auto _ : st) {
    const auto scan = [&](auto&&... args) {
      if constexpr (kChunked) {
        cpu::selective_scan_chunked(args...);
      } else {
        cpu::selective_scan_sequential(args...);
      }
    };
    scan(pool, x.data(), dt.data(), a.data(), bc.data(), bc.data() + N, bc_stride, skip.data(), T,
         D, N, h.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(T), benchmark::Counter::kIsIterationInvariantRate);
}

// The chunked SSD's inner product: one 64 x 64 x 128 tile, on one thread.
void BM_SmallGemm(benchmark::State& st, cpu::SmallGemm gemm) {
  const int64_t m = 64, n = 64, k = 128;
  const auto a = normal(sz(m * k), 1, 1.0f), b = normal(sz(k * n), 2, 1.0f);
  std::vector<float> c(sz(m * n));
  for (auto _ : st) {
    gemm({.m = m,
          .n = n,
          .k = k,
          .a = a.data(),
          .a_row = k,
          .a_col = 1,
          .b = b.data(),
          .ldb = n,
          .c = c.data(),
          .ldc = n});
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * m * n * k, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_SmallGemm, portable, cpu::portable_small_gemm());
BENCHMARK_CAPTURE(BM_SmallGemm, chosen, cpu::small_gemm());

void ssd_args(benchmark::internal::Benchmark* b) {
  for (int64_t t : {1, 2, 3, 4, 8, 16, 64, 512, 2048}) b->Args({t, 24});
  b->Args({512, 2});
}

void selective_args(benchmark::internal::Benchmark* b) {
  for (int64_t t : {64, 512, 2048}) b->Args({t, 1536});
  for (int64_t d : {1, 2, 3, 4, 16}) b->Args({2048, d});
}

BENCHMARK(BM_SsdScan<false>)->Name("SsdScan/sequential")->Apply(ssd_args)->UseRealTime();
BENCHMARK(BM_SsdScan<true>)->Name("SsdScan/chunked")->Apply(ssd_args)->UseRealTime();
BENCHMARK(BM_SelectiveScan<false>)
    ->Name("SelectiveScan/sequential")
    ->Apply(selective_args)
    ->UseRealTime();
BENCHMARK(BM_SelectiveScan<true>)
    ->Name("SelectiveScan/chunked")
    ->Apply(selective_args)
    ->UseRealTime();

}  // namespace
}  // namespace ma
