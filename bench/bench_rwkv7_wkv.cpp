// The RWKV-7 wkv kernels, recurrent against chunked, at the shapes of RWKV-7
// 0.1B (12 heads of 64) and 1.5B (32 heads of 64). Build with
// -DMA_BUILD_BENCH=ON; run, e.g.
//   build/ma_bench --benchmark_filter=Rwkv7 --benchmark_min_time=0.5
// Arguments: tokens, heads; the pool has the machine's threads unless
// MA_BENCH_THREADS says otherwise.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "backend/cpu/rwkv7.h"

namespace ma {
namespace {

ThreadPool& wkv_pool() {
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

template <bool kChunked>
void BM_Rwkv7Wkv(benchmark::State& st) {
  const int64_t t = st.range(0), heads = st.range(1), n = 64;
  const auto tc = static_cast<size_t>(t * heads * n);
  const auto r = normal(tc, 1, 0.5f), k = normal(tc, 2, 0.3f), v = normal(tc, 3, 1.0f);
  auto w = normal(tc, 4, 2.0f), a = normal(tc, 5, 0.1f), b = normal(tc, 6, 0.1f);
  for (float& x : w) x = std::exp(-0.6065f / (1.0f + std::exp(-x)));
  std::vector<float> state(static_cast<size_t>(heads * n * n)), y(tc);
  const cpu::Rwkv7WkvInputs in{r.data(), w.data(), k.data(), v.data(), a.data(), b.data()};
  const cpu::Rwkv7WkvShape s{t, heads, n};
  for (auto _ : st) {
    if constexpr (kChunked) {
      cpu::rwkv7_wkv_chunked(wkv_pool(), in, s, state.data(), y.data());
    } else {
      cpu::rwkv7_wkv_recurrent(wkv_pool(), in, s, state.data(), y.data());
    }
    benchmark::DoNotOptimize(y.data());
  }
  st.SetItemsProcessed(st.iterations() * t);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t heads : {1, 12, 32}) b->Args({512, heads});
  for (int64_t tokens : {1, 4, 8, 16}) b->Args({tokens, 12});
}

BENCHMARK(BM_Rwkv7Wkv<false>)->Name("Rwkv7WkvRecurrent")->Apply(shapes);
BENCHMARK(BM_Rwkv7Wkv<true>)->Name("Rwkv7WkvChunked")->Apply(shapes);

}  // namespace
}  // namespace ma
