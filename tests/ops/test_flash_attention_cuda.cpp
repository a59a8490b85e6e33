// The contiguous bf16 entry of the tensor-core flash attention (the one the
// benchmark times against torch) against fp64 causal attention, every tile
// variant, GQA and a length that is no multiple of any tile. The paged f16
// entry is covered by the CUDA column of test_backend_ops. Skipped, and said
// so, where no CUDA device is present.
#ifdef MA_HAVE_CUDA

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/flash_attention.h"
#include "backend/device.h"
#include "core/error.h"
#include "core/fp16.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

std::vector<uint16_t> random_bf16(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = fp32_to_bf16(dist(rng));
  return v;
}

uint16_t* upload(cuda::DeviceBuffer& buf, const std::vector<uint16_t>& host) {
  auto* p = static_cast<uint16_t*>(buf.grow(host.size() * 2, "test tensor"));
  MA_CUDA_CHECK(cudaMemcpy(p, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  return p;
}

TEST(CudaFlashAttention, Bf16MatchesReference) {
  std::string why;
  if (!cuda_available(&why)) GTEST_SKIP() << "CUDA: " << why;
  constexpr int64_t kHeads = 4, kHeadsKv = 2, kN = 333, kD = 128;
  const size_t q_elems = kHeads * kN * kD, kv_elems = kHeadsKv * kN * kD;
  const auto q = random_bf16(q_elems, 7, 1.5f), k = random_bf16(kv_elems, 8, 1.5f),
             v = random_bf16(kv_elems, 9, 1.0f);
  const double scale = 1.0 / std::sqrt(double(kD));

  // fp64 reference, one head at a time: [n x 1 x d] slices of [heads x n x d].
  std::vector<int64_t> pos(kN);
  for (int64_t i = 0; i < kN; ++i) pos[static_cast<size_t>(i)] = i;
  const ref::AttentionShape sh{1, 1, kD, scale, 0, 0};
  std::vector<double> want(q_elems);
  for (int64_t h = 0; h < kHeads; ++h) {
    const size_t qo = static_cast<size_t>(h * kN * kD);
    const size_t ko = static_cast<size_t>(h / (kHeads / kHeadsKv) * kN * kD);
    std::vector<double> qd(kN * kD), kd(kN * kD), vd(kN * kD);
    for (size_t i = 0; i < qd.size(); ++i) {
      qd[i] = bf16_to_fp32(q[qo + i]);
      kd[i] = bf16_to_fp32(k[ko + i]);
      vd[i] = bf16_to_fp32(v[ko + i]);
    }
    ref::attention(qd.data(), pos.data(), kN, kd.data(), vd.data(), pos.data(), kN, sh,
                   want.data() + qo);
  }

  cuda::DeviceBuffer dq, dk, dv, dout;
  uint16_t* pq = upload(dq, q);
  uint16_t* pk = upload(dk, k);
  uint16_t* pv = upload(dv, v);
  auto* pout = static_cast<uint16_t*>(dout.grow(q_elems * 2, "test output"));
  for (const cuda::FlashTile tile : cuda::kFlashTiles) {
    if (!cuda::flash_tile_supported(tile)) {
      std::printf("[ SKIPPED  ] %s: not on this GPU or build\n", cuda::flash_tile_name(tile));
      continue;
    }
    MA_CUDA_CHECK(cudaMemset(pout, 0xff, q_elems * 2));  // NaN where nothing is written
    cuda::flash_attention_bf16(pq, pk, pv, kHeads, kHeadsKv, kN, kD, static_cast<float>(scale),
                               pout, tile, nullptr);
    std::vector<uint16_t> got(q_elems);
    MA_CUDA_CHECK(cudaMemcpy(got.data(), pout, q_elems * 2, cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    for (size_t i = 0; i < q_elems; ++i) {
      const double d = bf16_to_fp32(got[i]) - want[i];
      num += d * d;
      den += want[i] * want[i];
    }
    EXPECT_LT(num / den, tolerance::kBf16AttentionNmse) << cuda::flash_tile_name(tile);
  }
}

// Refused before any device work, so this runs without a GPU too.
TEST(CudaFlashAttention, UnsupportedHeadDimNamesTheSupportedOnes) {
  try {
    cuda::flash_attention_bf16(nullptr, nullptr, nullptr, 2, 2, 8, 96, 0.1f, nullptr,
                               cuda::FlashTile::k64x4, nullptr);
    FAIL() << "head_dim 96 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("32, 64, 128"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ma

#endif  // MA_HAVE_CUDA
