// The engine on a really trained Llama (stories260K): batching invariants,
// cache types, context limits, and bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "model/arch_registry.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

double max_abs(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

const std::vector<int32_t> kTokens = {1, 403, 407, 261, 378, 10, 1, 268, 416, 295, 427, 269, 301};

TEST(LlamaEngine, PrefillThenDecodeEqualsLongerPrefill) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  const int64_t V = model->hparams().n_vocab;
  SessionOptions so;
  so.n_ctx = 64;
  so.kv_type = KvType::kF32;
  Session a(*model, so), b(*model, so), c(*model, so);
  // a: prefill T then decode 1; b: prefill T+1 in one batch; c: all one token at a time.
  const size_t T = kTokens.size() - 1;
  a.prefill({kTokens.data(), T});
  const float* la = a.decode(kTokens[T]);
  const std::vector<float> first(la, la + V);
  const float* lb = b.prefill(kTokens);
  EXPECT_LT(max_abs(first.data(), lb, static_cast<size_t>(V)), 1e-4);
  std::vector<float> all(kTokens.size() * static_cast<size_t>(V));
  Session d(*model, so);
  d.prefill_all(kTokens, all.data());
  for (size_t t = 0; t < kTokens.size(); ++t) {
    const float* lc = c.decode(kTokens[t]);
    EXPECT_LT(max_abs(lc, all.data() + t * static_cast<size_t>(V), static_cast<size_t>(V)), 1e-4)
        << "position " << t;
  }
}

TEST(LlamaEngine, SmallBatchesEqualOneBatch) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  SessionOptions one;
  one.n_ctx = 32;
  SessionOptions small = one;
  small.n_batch = 3;  // forces several passes and page boundaries mid-batch
  Session a(*model, one), b(*model, small);
  std::vector<float> la(kTokens.size() * V), lb(kTokens.size() * V);
  a.prefill_all(kTokens, la.data());
  b.prefill_all(kTokens, lb.data());
  EXPECT_LT(max_abs(la.data(), lb.data(), la.size()), 1e-4);
}

TEST(LlamaEngine, F16CacheCloseToF32Cache) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  const size_t V = static_cast<size_t>(model->hparams().n_vocab);
  SessionOptions f32, f16;
  f32.kv_type = KvType::kF32;
  f16.kv_type = KvType::kF16;
  f32.n_ctx = f16.n_ctx = 32;
  Session a(*model, f32), b(*model, f16);
  const float* la = a.prefill(kTokens);
  const std::vector<float> keep(la, la + V);
  const float* lb = b.prefill(kTokens);
  EXPECT_LT(max_abs(keep.data(), lb, V), 1e-2);
}

TEST(LlamaEngine, FullContextAndBadTokensAreClearErrors) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  SessionOptions so;
  so.n_ctx = 8;
  Session s(*model, so);
  s.prefill({kTokens.data(), 8});
  try {
    s.decode(5);
    FAIL() << "decode past the context succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context is full"), std::string::npos) << e.what();
  }
  Session t(*model, so);
  EXPECT_THROW(t.decode(512), Error);
  EXPECT_THROW(t.decode(-1), Error);
  // The session is still usable after a refused token.
  EXPECT_NO_THROW(t.decode(1));
  EXPECT_EQ(t.n_past(), 1);
}

TEST(LlamaEngine, UnknownArchitectureIsRefusedByName) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-falcon.gguf");  // a Falcon vocabulary file
  try {
    load_model(path.string());
    FAIL() << "loaded an architecture the engine does not have";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("architecture 'falcon' is not supported"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ma
