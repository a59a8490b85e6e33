// The attention ops of the backend seam against fp64 attention: paged
// prefill and decode over the KV cache, and a decode token's q/k/v products
// handed to the attention (BackendOps, instantiated per device in
// test_backend_ops.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend_ops_fixture.h"
#include "blocks/forward_context.h"
#include "core/fp16.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"

namespace ma {
namespace {

using test::BackendOps;
using test::nmse;
using test::random_floats;
using test::TestWeight;
using test::to_double;

// Positions [first, first + count) of q, k, v (rows of the shape's heads)
// through the backend's attention, their keys and values stored into the
// sequence's cache; returns the output of those positions.
std::vector<float> attend(test::BackendBox& b, KvCache& cache, SequenceState& state,
                          const ref::AttentionShape& sh, const RopeParams* rope,
                          const std::vector<float>& q, const std::vector<float>& k,
                          const std::vector<float>& v, const std::vector<int64_t>& pos,
                          int64_t first, int64_t count) {
  const int64_t qrow = sh.n_head * sh.head_dim, row = sh.n_head_kv * sh.head_dim;
  cache.reserve(state.kv_seq, count);
  auto slice = [&](const std::vector<float>& a, int64_t w) {
    return std::vector<float>(a.begin() + first * w, a.begin() + (first + count) * w);
  };
  float* dq = b.put(100, slice(q, qrow));
  float* dk = b.put(101, slice(k, row));
  const float* dv = b.put(102, slice(v, row));
  float* dout = b.be->buffer(103, static_cast<size_t>(count * qrow));
  AttentionStep step;
  step.shape = &sh;
  step.positions = pos.data() + first;
  step.n_tokens = count;
  step.state = &state;
  step.rope = rope;
  b.be->attention(step, dq, dk, dv, dout);
  state.kv_seq.length = first + count;
  return b.get(dout, static_cast<size_t>(count * qrow));
}

struct AttentionCase {
  int64_t n_head, n_head_kv, head_dim, n_kv, n_q, window;
  double softcap;
  KvType type;
};

// Keys and values of positions [0, n_kv) go into the cache in two steps (all
// but the last n_q, then the last n_q with their queries); the second
// step's output is compared with fp64 attention over all n_kv positions.
TEST_P(BackendOps, PagedAttentionMatchesReference) {
  const AttentionCase cases[] = {
      {4, 4, 16, 1, 1, 0, 0, KvType::kF32},
      {4, 2, 16, 37, 1, 0, 0, KvType::kF32},
      {8, 1, 32, 50, 7, 0, 0, KvType::kF32},
      {4, 2, 64, 40, 40, 0, 0, KvType::kF32},
      {4, 2, 16, 45, 9, 5, 0, KvType::kF32},
      {4, 4, 16, 33, 4, 0, 30.0, KvType::kF32},
      {8, 2, 64, 70, 3, 0, 0, KvType::kF16},
      {4, 1, 128, 20, 20, 7, 0, KvType::kF16},
      {2, 1, 256, 300, 2, 0, 0, KvType::kF32},
      {8, 2, 128, 260, 130, 0, 0, KvType::kF16},
      // Prompt-sized steps (the GPU's tiled prefill kernel) with a window,
      // soft-capping, a head size below 128 and partial query tiles.
      {4, 2, 64, 100, 50, 0, 30.0, KvType::kF32},
      {4, 2, 32, 90, 61, 10, 0, KvType::kF16},
      {4, 4, 96, 150, 150, 0, 0, KvType::kF32},
      // F16 prefill at head dims 64 and 128 (with the d=32 case above, the
      // GPU's tensor-core flash kernel): whole prompts and continuations
      // over many 16-row pages, GQA, windows across tiles, soft-capping,
      // lengths off the 64-row tile.
      {8, 2, 128, 300, 300, 0, 0, KvType::kF16},
      {4, 1, 64, 211, 150, 0, 0, KvType::kF16},
      {4, 2, 128, 200, 77, 40, 0, KvType::kF16},
      {8, 8, 64, 90, 90, 0, 30.0, KvType::kF16},
      {6, 3, 64, 129, 65, 70, 0, KvType::kF16},
      {4, 2, 128, 67, 2, 0, 0, KvType::kF16},
      // Decode steps over caches of more than 256 positions (the GPU splits
      // the keys over blocks and merges the partial softmaxes): splits
      // past the position, a window, soft-capping, both cache types.
      {4, 2, 64, 600, 1, 0, 0, KvType::kF16},
      {4, 2, 128, 700, 1, 100, 0, KvType::kF32},
      {8, 2, 64, 530, 1, 0, 30.0, KvType::kF16},
      {4, 4, 32, 1500, 1, 0, 0, KvType::kF32},
      // A split cache whose keys so far sit in the first split alone (that
      // block writes the output itself).
      {8, 2, 128, 50, 1, 0, 0, KvType::kF16},
      // The GPU's decode kernels per head dim (16-byte rows, 32 / 64 / 128 /
      // 256): short and long caches, a few queries per step, GQA.
      {8, 2, 128, 1000, 1, 0, 0, KvType::kF16},
      {4, 1, 32, 90, 1, 0, 0, KvType::kF16},
      {4, 2, 256, 300, 1, 0, 0, KvType::kF16},
      {4, 4, 64, 5, 1, 0, 0, KvType::kF32},
      {8, 4, 128, 150, 3, 0, 30.0, KvType::kF16},
      {4, 2, 32, 200, 2, 50, 0, KvType::kF32},
  };
  uint32_t seed = 100;
  for (const auto& c : cases) {
    // Every other case hands q and k over unrotated with the step's RoPE
    // (NeoX, a partial rotation), which the backend applies before storing.
    const bool with_rope = (&c - cases) % 2 == 1;
    RopeParams rope;
    rope.mode = RopeMode::kNeox;
    rope.n_dims = c.head_dim / 2;
    const int64_t row = c.n_head_kv * c.head_dim, qrow = c.n_head * c.head_dim;
    const auto q = random_floats(static_cast<size_t>(c.n_kv * qrow), seed++, 2.0f);
    const auto k = random_floats(static_cast<size_t>(c.n_kv * row), seed++, 2.0f);
    const auto v = random_floats(static_cast<size_t>(c.n_kv * row), seed++);
    KvCache cache({row}, c.n_kv + 40, c.type, 16, GetParam() == Device::kCpu);
    auto b = box(&cache);
    SequenceState state;
    state.kv = &cache;
    // Another sequence first, so this one's pages are not 0, 1, 2, ...
    KvSequence other = cache.new_sequence();
    cache.reserve(other, 20);
    state.kv_seq = cache.new_sequence();
    const ref::AttentionShape sh{c.n_head,   c.n_head_kv,
                                 c.head_dim, 1.0 / std::sqrt(static_cast<double>(c.head_dim)),
                                 c.window,   c.softcap};
    std::vector<int64_t> pos(static_cast<size_t>(c.n_kv));
    for (int64_t s = 0; s < c.n_kv; ++s) pos[static_cast<size_t>(s)] = s;
    std::vector<float> got;
    for (const auto& [first, count] :
         {std::pair{int64_t{0}, c.n_kv - c.n_q}, std::pair{c.n_kv - c.n_q, c.n_q}}) {
      if (count == 0) continue;
      got = attend(*b, cache, state, sh, with_rope ? &rope : nullptr, q, k, v, pos, first, count);
    }
    auto qd = to_double(q), kd = to_double(k);
    const auto vd = to_double(v);
    if (with_rope) {
      ref::rope(qd.data(), c.n_kv, c.n_head, c.head_dim, pos.data(), rope);
      ref::rope(kd.data(), c.n_kv, c.n_head_kv, c.head_dim, pos.data(), rope);
    }
    std::vector<double> want(static_cast<size_t>(c.n_q * qrow));
    const int64_t q0 = c.n_kv - c.n_q;
    ref::attention(qd.data() + q0 * qrow, pos.data() + q0, c.n_q, kd.data(), vd.data(), pos.data(),
                   c.n_kv, sh, want.data());
    // The GPU's prefill over an F16 cache also rounds queries and softmax
    // weights to f16 (tensor-core operands).
    const bool f16_operands = GetParam() == Device::kCuda && c.n_q > 1;
    const double tol = c.type != KvType::kF16 ? tolerance::kFp32Nmse
                       : f16_operands         ? tolerance::kF16AttentionOperandsNmse
                                              : tolerance::kF16CacheNmse;
    EXPECT_LT(nmse(got.data(), want.data(), want.size()), tol)
        << "heads " << c.n_head << "/" << c.n_head_kv << " d=" << c.head_dim << " n_kv=" << c.n_kv
        << " n_q=" << c.n_q << " window=" << c.window << " softcap=" << c.softcap
        << " rope=" << with_rope;
  }
}

// Decode steps one after another over a cache of 256 positions (the GPU
// splits its keys in ranges of 64 and merges them per step, leaving its
// scratch clean for the next): positions 60 to 199, across the ranges'
// edges, every step's output against fp64 attention; with and without a
// window that leaves the first ranges behind.
TEST_P(BackendOps, DecodeStepsAcrossSplitsMatchReference) {
  const int64_t n_head = 4, n_head_kv = 2, d = 64, prompt = 60, last = 199;
  const int64_t row = n_head_kv * d, qrow = n_head * d, n = last + 1;
  uint32_t seed = 700;
  for (const int64_t window : {int64_t{0}, int64_t{70}}) {
    const auto q = random_floats(static_cast<size_t>(n * qrow), seed++, 2.0f);
    const auto k = random_floats(static_cast<size_t>(n * row), seed++, 2.0f);
    const auto v = random_floats(static_cast<size_t>(n * row), seed++);
    KvCache cache({row}, 256, KvType::kF16, 16, GetParam() == Device::kCpu);
    auto b = box(&cache);
    SequenceState state;
    state.kv = &cache;
    state.kv_seq = cache.new_sequence();
    const ref::AttentionShape sh{n_head, n_head_kv, d, 1.0 / std::sqrt(static_cast<double>(d)),
                                 window, 0.0};
    std::vector<int64_t> pos(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) pos[static_cast<size_t>(t)] = t;
    // The reference reads the keys and values as the F16 cache holds them.
    auto as_stored = [](std::vector<float> a) {
      for (float& x : a) x = fp16_to_fp32(fp32_to_fp16(x));
      return to_double(a);
    };
    const auto qd = to_double(q), kd = as_stored(k), vd = as_stored(v);
    for (int64_t first = 0; first < n;) {
      const int64_t count = first == 0 ? prompt : 1;
      const auto got = attend(*b, cache, state, sh, nullptr, q, k, v, pos, first, count);
      if (count == 1) {
        std::vector<double> want(static_cast<size_t>(qrow));
        ref::attention(qd.data() + first * qrow, pos.data() + first, 1, kd.data(), vd.data(),
                       pos.data(), first + 1, sh, want.data());
        ASSERT_LT(nmse(got.data(), want.data(), want.size()), tolerance::kFp32Nmse)
            << "position " << first << " window " << window;
      }
      first += count;
    }
  }
}

// A decode token's q, k, v products, then its attention over the cache with
// the step's RoPE (a device may compute them with RoPE and the KV store as
// one launch), for one weight type and for Q4_K_M's mix, after a prompt:
// with 4 heads; with 208 (26624 rows: a device spreading them over a
// persistent grid gives each block a run of tiles across q, k and v); at
// head_dim 128 with GQA after prompts of 20 to 300 tokens (one and several
// key splits), with a window, with a soft cap, and as the first token.
TEST_P(BackendOps, DecodeProductsIntoAttentionMatchReference) {
  struct Case {
    int64_t d, n_head, n_head_kv, prompt, window;
    double softcap;
  };
  const Case cases[] = {{64, 4, 2, 20, 0, 0},     {64, 4, 2, 20, 0, 0},
                        {64, 208, 104, 20, 0, 0}, {64, 208, 104, 20, 0, 0},
                        {128, 8, 2, 20, 0, 0},    {128, 8, 2, 100, 0, 0},
                        {128, 32, 8, 100, 50, 0}, {128, 4, 4, 77, 0, 30.0},
                        {128, 8, 2, 300, 0, 0},   {128, 8, 8, 0, 0, 0}};
  const int64_t in = 256;
  const GgmlType mixes[][3] = {{GgmlType::Q4_0, GgmlType::Q4_0, GgmlType::Q4_0},
                               {GgmlType::Q4_K, GgmlType::Q4_K, GgmlType::Q6_K}};
  uint32_t seed = 300;
  int c = 0;
  for (const Case& cs : cases) {
    const auto& types = mixes[c++ % 2];
    const int64_t d = cs.d, n_head = cs.n_head, n_head_kv = cs.n_head_kv, prompt = cs.prompt;
    const int64_t qrow = n_head * d, row = n_head_kv * d;
    KvCache cache({row}, prompt + 16, KvType::kF16, 16, GetParam() == Device::kCpu);
    auto b = box(&cache);
    const TestWeight& wq = b->weight(types[0], in, qrow, seed++);
    const TestWeight& wk = b->weight(types[1], in, row, seed++);
    const TestWeight& wv = b->weight(types[2], in, row, seed++);
    RopeParams rope;
    rope.n_dims = d;
    SequenceState state;
    state.kv = &cache;
    state.kv_seq = cache.new_sequence();
    const ref::AttentionShape sh{n_head,    n_head_kv, d, 1.0 / std::sqrt(static_cast<double>(d)),
                                 cs.window, cs.softcap};
    std::vector<int64_t> pos(static_cast<size_t>(prompt + 1));
    for (int64_t t = 0; t <= prompt; ++t) pos[static_cast<size_t>(t)] = t;
    // The prompt's keys and values, as given.
    auto qd = to_double(random_floats(static_cast<size_t>((prompt + 1) * qrow), seed++));
    auto kd = to_double(random_floats(static_cast<size_t>((prompt + 1) * row), seed++, 2.0f));
    auto vd = to_double(random_floats(static_cast<size_t>((prompt + 1) * row), seed++));
    auto as_float = [](const double* a, int64_t n) { return std::vector<float>(a, a + n); };
    AttentionStep step;
    step.shape = &sh;
    step.state = &state;
    step.rope = &rope;
    if (prompt > 0) {
      cache.reserve(state.kv_seq, prompt);
      step.positions = pos.data();
      step.n_tokens = prompt;
      b->be->attention(step, b->put(100, as_float(qd.data(), prompt * qrow)),
                       b->put(101, as_float(kd.data(), prompt * row)),
                       b->put(102, as_float(vd.data(), prompt * row)),
                       b->be->buffer(103, static_cast<size_t>(prompt * qrow)));
      state.kv_seq.length = prompt;
    }
    // The decode token's products.
    const auto x = random_floats(static_cast<size_t>(in), seed++);
    const int32_t token = 0;
    b->be->begin_step(&token, 1, pos.data() + prompt, &state.kv_seq);
    cache.reserve(state.kv_seq, 1);
    const float* dx = b->put(104, x);
    float* q = b->be->buffer(105, static_cast<size_t>(qrow));
    float* k = b->be->buffer(106, static_cast<size_t>(row));
    float* v = b->be->buffer(107, static_cast<size_t>(row));
    float* out = b->be->buffer(108, static_cast<size_t>(qrow));
    b->be->matmul_shared({{&wq.w, q}, {&wk.w, k}, {&wv.w, v}}, dx, 1);
    step.positions = pos.data() + prompt;
    step.n_tokens = 1;
    b->be->attention(step, q, k, v, out);
    const auto got = b->get(out, static_cast<size_t>(qrow));

    const auto xd = to_double(x);
    ref::matmul(wq.w, xd.data(), 1, qd.data() + prompt * qrow);
    ref::matmul(wk.w, xd.data(), 1, kd.data() + prompt * row);
    ref::matmul(wv.w, xd.data(), 1, vd.data() + prompt * row);
    ref::rope(qd.data(), prompt + 1, n_head, d, pos.data(), rope);
    ref::rope(kd.data(), prompt + 1, n_head_kv, d, pos.data(), rope);
    std::vector<double> want(static_cast<size_t>(qrow));
    ref::attention(qd.data() + prompt * qrow, pos.data() + prompt, 1, kd.data(), vd.data(),
                   pos.data(), prompt + 1, sh, want.data());
    // q and k each carry a quantized product's rounding into the scores.
    EXPECT_LT(nmse(got.data(), want.data(), want.size()), tolerance::kQuantizedChainNmse)
        << ggml_type_name(types[0]) << "/" << ggml_type_name(types[2]) << " d=" << d
        << " heads=" << n_head << "/" << n_head_kv << " prompt=" << prompt
        << " window=" << cs.window << " softcap=" << cs.softcap;
  }
}

}  // namespace
}  // namespace ma
