// Flash attention TFLOP/s: our tensor-core kernel (every tile variant) next to
// torch's scaled_dot_product_attention with the flash backend, same shape:
// bf16, causal, batch 1, [heads x tokens x head_dim]. Flops counted for
// causal attention: 2 products * 2 * n^2 / 2 * d * heads.
//   cuda_flash_attention_bench [--heads 32] [--tokens 4096] [--reps 30] [--tile I] [--no-torch]
// torch's number comes from tools/gpu/sdpa_flash_bench.py (python3 on PATH).
// Sampled output rows are checked against an fp64 reference first.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/flash_attention.h"
#include "core/error.h"
#include "core/fp16.h"
#include "ops/reference_ops.h"

namespace {

constexpr int64_t kHeadDim = 128;

struct Options {
  int64_t heads = 32, tokens = 4096, reps = 30, tile = -1;  // tile: index into kFlashTiles
  bool torch = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) throw ma::Error(a + " needs a value");
      return std::atoll(argv[++i]);
    };
    if (a == "--heads") {
      o.heads = next();
    } else if (a == "--tokens") {
      o.tokens = next();
    } else if (a == "--reps") {
      o.reps = next();
    } else if (a == "--tile") {
      o.tile = next();
    } else if (a == "--no-torch") {
      o.torch = false;
    } else {
      throw ma::Error("unknown option " + a);
    }
  }
  if (o.heads <= 0 || o.tokens <= 0 || o.reps <= 0) throw ma::Error("sizes must be positive");
  return o;
}

struct DeviceArray {
  uint16_t* p = nullptr;
  explicit DeviceArray(size_t n) { MA_CUDA_CHECK(cudaMalloc(&p, n * sizeof(uint16_t))); }
  ~DeviceArray() { cudaFree(p); }
};

std::vector<uint16_t> random_bf16(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = ma::fp32_to_bf16(dist(rng));
  return v;
}

// nmse of sampled rows (query i of head h) against fp64 causal attention.
double check_rows(const std::vector<uint16_t>& q, const std::vector<uint16_t>& k,
                  const std::vector<uint16_t>& v, const std::vector<uint16_t>& out, int64_t heads,
                  int64_t n) {
  const ma::ref::AttentionShape sh{1, 1, kHeadDim, 1.0 / std::sqrt(double(kHeadDim)), 0, 0};
  std::vector<int64_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = i;
  double num = 0, den = 0;
  for (int64_t h : {int64_t{0}, heads - 1}) {
    const size_t base = static_cast<size_t>(h * n * kHeadDim);
    std::vector<double> kd(static_cast<size_t>(n * kHeadDim)), vd(kd.size());
    for (size_t i = 0; i < kd.size(); ++i) {
      kd[i] = ma::bf16_to_fp32(k[base + i]);
      vd[i] = ma::bf16_to_fp32(v[base + i]);
    }
    for (int64_t i : {int64_t{0}, int64_t{1}, n / 2 + 3, n - 65, n - 1}) {
      if (i < 0 || i >= n) continue;
      const size_t row = base + static_cast<size_t>(i * kHeadDim);
      double qd[kHeadDim], want[kHeadDim];
      for (int64_t c = 0; c < kHeadDim; ++c) qd[c] = ma::bf16_to_fp32(q[row + c]);
      ma::ref::attention(qd, &pos[static_cast<size_t>(i)], 1, kd.data(), vd.data(), pos.data(), n,
                         sh, want);
      for (int64_t c = 0; c < kHeadDim; ++c) {
        const double d = ma::bf16_to_fp32(out[row + c]) - want[c];
        num += d * d;
        den += want[c] * want[c];
      }
    }
  }
  return num / den;
}

double torch_tflops(const Options& o) {
  const std::string cmd = "python3 " MA_SOURCE_DIR "/tools/gpu/sdpa_flash_bench.py --heads " +
                          std::to_string(o.heads) + " --tokens " + std::to_string(o.tokens) +
                          " --reps " + std::to_string(o.reps);
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  double tf = -1;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    std::fputs(line, stdout);
    std::sscanf(line, "torch_sdpa_flash_tflops %lf", &tf);
  }
  pclose(f);
  return tf;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  const size_t elems = static_cast<size_t>(o.heads * o.tokens * kHeadDim);
  const auto hq = random_bf16(elems, 1), hk = random_bf16(elems, 2), hv = random_bf16(elems, 3);
  DeviceArray q(elems), k(elems), v(elems), out(elems);
  MA_CUDA_CHECK(cudaMemcpy(q.p, hq.data(), elems * 2, cudaMemcpyHostToDevice));
  MA_CUDA_CHECK(cudaMemcpy(k.p, hk.data(), elems * 2, cudaMemcpyHostToDevice));
  MA_CUDA_CHECK(cudaMemcpy(v.p, hv.data(), elems * 2, cudaMemcpyHostToDevice));
  cudaDeviceProp prop{};
  MA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const double flops = 2.0 * 2.0 * double(o.tokens) * double(o.tokens) / 2.0 * kHeadDim * o.heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(double(kHeadDim)));
  cudaEvent_t e0, e1;
  MA_CUDA_CHECK(cudaEventCreate(&e0));
  MA_CUDA_CHECK(cudaEventCreate(&e1));
  std::printf("GPU: %s; bf16 causal, heads %lld, tokens %lld, head_dim %lld\n", prop.name,
              static_cast<long long>(o.heads), static_cast<long long>(o.tokens),
              static_cast<long long>(kHeadDim));

  struct Row {
    const char* name;
    double ms, tflops, err;
  };
  std::vector<Row> rows;
  for (size_t ti = 0; ti < std::size(ma::cuda::kFlashTiles); ++ti) {
    if (o.tile >= 0 && static_cast<size_t>(o.tile) != ti) continue;
    const ma::cuda::FlashTile tile = ma::cuda::kFlashTiles[ti];
    if (!ma::cuda::flash_tile_supported(tile)) {
      std::printf("skipped: %s (not on this GPU or build)\n", ma::cuda::flash_tile_name(tile));
      continue;
    }
    auto run = [&] {
      ma::cuda::flash_attention_bf16(q.p, k.p, v.p, o.heads, o.heads, o.tokens, kHeadDim, scale,
                                     out.p, tile, nullptr);
    };
    MA_CUDA_CHECK(cudaMemset(out.p, 0xff, elems * 2));  // NaN: unwritten rows show
    run();
    MA_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<uint16_t> ho(elems);
    MA_CUDA_CHECK(cudaMemcpy(ho.data(), out.p, elems * 2, cudaMemcpyDeviceToHost));
    const double err = check_rows(hq, hk, hv, ho, o.heads, o.tokens);
    for (int i = 0; i < 3; ++i) run();
    std::vector<float> ms;
    for (int64_t r = 0; r < o.reps; ++r) {
      MA_CUDA_CHECK(cudaEventRecord(e0));
      run();
      MA_CUDA_CHECK(cudaEventRecord(e1));
      MA_CUDA_CHECK(cudaEventSynchronize(e1));
      float t = 0;
      MA_CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
      ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    rows.push_back({ma::cuda::flash_tile_name(tile), med, flops / (med * 1e-3) / 1e12, err});
  }
  const double theirs = o.torch ? torch_tflops(o) : -1;
  std::printf("| kernel | ms (median of %lld) | TFLOP/s | vs torch | nmse (sampled rows) |\n",
              static_cast<long long>(o.reps));
  std::printf("|---|---:|---:|---:|---:|\n");
  double best = 0;
  for (const Row& r : rows) {
    best = std::max(best, r.tflops);
    std::printf("| ours, %s | %.3f | %.1f | %s | %.2e |\n", r.name, r.ms, r.tflops,
                theirs > 0 ? (std::to_string(r.tflops / theirs).substr(0, 4) + "x").c_str() : "-",
                r.err);
  }
  if (theirs > 0) {
    std::printf("| torch sdpa (flash) | | %.1f | 1.00x | |\n", theirs);
    std::printf("best ours / torch: %.2fx (%.1f / %.1f TFLOP/s) on %s\n", best / theirs, best,
                theirs, prop.name);
  }
  for (const Row& r : rows) {
    if (!(r.err < 1e-4)) {
      std::printf("FAILED: %s does not match the fp64 reference\n", r.name);
      return 1;
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
