// Paged attention against the fp64 reference (GQA/MQA, sliding window,
// soft-capping, F32 and F16 caches, sequences spanning several pages, prompt
// batches spanning several query tiles of the tiled kernel), and
// the invariants: zero V gives zero output; GQA with group 1 equals MHA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "backend/cpu/ops.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::random_floats;
using test::to_double;

struct AttentionCase {
  int64_t n_head, n_head_kv, head_dim, n_kv, n_q, window;
  double softcap;
  KvType type;
};

// Runs the paged kernel: keys/values [n_kv x n_head_kv x d] stored at positions
// 0..n_kv-1, queries at the last n_q positions.
std::vector<float> run_paged(const AttentionCase& c, const std::vector<float>& q,
                             const std::vector<float>& k, const std::vector<float>& v) {
  const int64_t row = c.n_head_kv * c.head_dim;
  KvCache cache({row}, c.n_kv + 40, c.type, 16);
  // A second sequence first, so this one's pages are not 0, 1, 2, ...
  KvSequence other = cache.new_sequence();
  cache.reserve(other, 20);
  KvSequence seq = cache.new_sequence();
  cache.reserve(seq, c.n_kv);
  for (int64_t s = 0; s < c.n_kv; ++s)
    cache.store(0, seq, s, k.data() + s * row, v.data() + s * row);
  std::vector<int64_t> pos(static_cast<size_t>(c.n_q));
  for (int64_t t = 0; t < c.n_q; ++t) pos[static_cast<size_t>(t)] = c.n_kv - c.n_q + t;
  ref::AttentionShape sh{c.n_head,   c.n_head_kv,
                         c.head_dim, 1.0 / std::sqrt(static_cast<double>(c.head_dim)),
                         c.window,   c.softcap};
  std::vector<float> out(static_cast<size_t>(c.n_q * c.n_head * c.head_dim));
  ThreadPool pool(2);
  cpu::AttentionScratch scratch;
  cpu::attention_paged(pool, q.data(), pos.data(), c.n_q, cache.view(0, seq), c.n_kv, sh,
                       out.data(), scratch);
  return out;
}

std::vector<double> run_reference(const AttentionCase& c, const std::vector<float>& q,
                                  const std::vector<float>& k, const std::vector<float>& v) {
  std::vector<int64_t> qpos(static_cast<size_t>(c.n_q)), kpos(static_cast<size_t>(c.n_kv));
  for (int64_t t = 0; t < c.n_q; ++t) qpos[static_cast<size_t>(t)] = c.n_kv - c.n_q + t;
  for (int64_t s = 0; s < c.n_kv; ++s) kpos[static_cast<size_t>(s)] = s;
  ref::AttentionShape sh{c.n_head,   c.n_head_kv,
                         c.head_dim, 1.0 / std::sqrt(static_cast<double>(c.head_dim)),
                         c.window,   c.softcap};
  const auto qd = to_double(q), kd = to_double(k), vd = to_double(v);
  std::vector<double> out(static_cast<size_t>(c.n_q * c.n_head * c.head_dim));
  ref::attention(qd.data(), qpos.data(), c.n_q, kd.data(), vd.data(), kpos.data(), c.n_kv, sh,
                 out.data());
  return out;
}

TEST(OpsAttention, PagedMatchesReference) {
  const AttentionCase cases[] = {
      {4, 4, 16, 1, 1, 0, 0, KvType::kF32},
      {4, 2, 16, 37, 1, 0, 0, KvType::kF32},
      {8, 1, 32, 50, 7, 0, 0, KvType::kF32},
      {4, 2, 64, 40, 40, 0, 0, KvType::kF32},
      {4, 2, 16, 45, 9, 5, 0, KvType::kF32},
      {4, 4, 16, 33, 4, 0, 30.0, KvType::kF32},
      {8, 2, 64, 70, 3, 0, 0, KvType::kF16},
      {4, 1, 128, 20, 20, 7, 0, KvType::kF16},
      // Prompt batches spanning several query tiles (64 rows: 16 tokens x 4
      // heads here, 64 tokens x 1 head below), with a window and soft-capping.
      {8, 2, 32, 90, 90, 0, 0, KvType::kF16},
      {8, 2, 32, 100, 75, 20, 0, KvType::kF16},
      {4, 4, 16, 130, 130, 0, 30.0, KvType::kF32},
      {2, 2, 24, 50, 33, 0, 0, KvType::kF32},
      // stories260K's attention: head size 8, pairs of heads per KV head.
      {8, 4, 8, 6, 6, 0, 0, KvType::kF16},
      {8, 4, 8, 6, 6, 0, 0, KvType::kF32},
  };
  uint32_t seed = 100;
  // Both prompt kernels: the per-head loop and the tiled one.
  for (const char* tiled : {"0", "1"}) {
    ::setenv("MA_CPU_TILED_ATTENTION", tiled, 1);
    for (const auto& c : cases) {
      const auto q =
          random_floats(static_cast<size_t>(c.n_q * c.n_head * c.head_dim), seed++, 2.0f);
      const auto k =
          random_floats(static_cast<size_t>(c.n_kv * c.n_head_kv * c.head_dim), seed++, 2.0f);
      const auto v = random_floats(static_cast<size_t>(c.n_kv * c.n_head_kv * c.head_dim), seed++);
      const auto got = run_paged(c, q, k, v);
      const auto want = run_reference(c, q, k, v);
      const double tol = c.type == KvType::kF16 ? tolerance::kF16CacheNmse : tolerance::kFp32Nmse;
      EXPECT_LT(test::nmse(got.data(), want.data(), got.size()), tol)
          << "heads " << c.n_head << "/" << c.n_head_kv << " d " << c.head_dim << " kv " << c.n_kv
          << " q " << c.n_q << " window " << c.window << " tiled " << tiled;
    }
  }
  ::unsetenv("MA_CPU_TILED_ATTENTION");
}

TEST(OpsAttention, ZeroValuesGiveZeroOutput) {
  const AttentionCase c{4, 2, 16, 30, 5, 0, 0, KvType::kF32};
  const auto q = random_floats(5 * 4 * 16, 1, 3.0f);
  const auto k = random_floats(30 * 2 * 16, 2, 3.0f);
  const std::vector<float> v(30 * 2 * 16, 0.0f);
  for (float o : run_paged(c, q, k, v)) EXPECT_EQ(o, 0.0f);
}

TEST(OpsAttention, GroupSizeOneEqualsMultiHead) {
  // GQA with 2 KV heads shared by 4 query heads == MHA with each KV head duplicated.
  const AttentionCase gqa{4, 2, 16, 25, 3, 0, 0, KvType::kF32};
  const AttentionCase mha{4, 4, 16, 25, 3, 0, 0, KvType::kF32};
  const auto q = random_floats(3 * 4 * 16, 5);
  const auto k = random_floats(25 * 2 * 16, 6);
  const auto v = random_floats(25 * 2 * 16, 7);
  std::vector<float> k4, v4;
  for (int64_t s = 0; s < 25; ++s) {
    for (int64_t h = 0; h < 4; ++h) {
      const int64_t g = h / 2;
      k4.insert(k4.end(), k.begin() + (s * 2 + g) * 16, k.begin() + (s * 2 + g + 1) * 16);
      v4.insert(v4.end(), v.begin() + (s * 2 + g) * 16, v.begin() + (s * 2 + g + 1) * 16);
    }
  }
  const auto a = run_paged(gqa, q, k, v);
  const auto b = run_paged(mha, q, k4, v4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], b[i]);
}

TEST(OpsAttention, FiniteForLargeAndTinyInputs) {
  for (float scale : {1e-20f, 1e-3f, 1e3f}) {
    const AttentionCase c{4, 2, 32, 20, 4, 0, 0, KvType::kF32};
    const auto q = random_floats(4 * 4 * 32, 8, scale);
    const auto k = random_floats(20 * 2 * 32, 9, scale);
    const auto v = random_floats(20 * 2 * 32, 10, scale);
    for (float o : run_paged(c, q, k, v)) EXPECT_TRUE(std::isfinite(o)) << scale;
  }
}

}  // namespace
}  // namespace ma
