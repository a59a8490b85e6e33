// The 8-row interleaved layouts (Q4_0x8, Q8_0x8), one typed suite for both:
// repacked matmuls equal the row layout's (same quants, other summation
// order) and the fp64 reference; the AVX2 and VNNI kernels agree with the
// portable one; a whole model gives the same logits repacked or not.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "backend/cpu/matmul.h"
#include "backend/cpu/q4_0x8.h"
#include "backend/cpu/q8_0x8.h"
#include "convert/requantize.h"
#include "model/arch_registry.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

struct Q4_0x8 {
  static constexpr GgmlType kType = GgmlType::Q4_0, kOtherType = GgmlType::Q8_0;
  static constexpr WeightLayout kLayout = WeightLayout::kQ4_0x8;
  static constexpr const char* kName = "q4_0";
  using Block = cpu::BlockQ4_0x8;
  using Gemv = cpu::GemvQ4_0x8;
  static bool can_repack(const Weight& w) { return cpu::can_repack_q4_0x8(w); }
  static void repack(const Weight& w, uint8_t* dst) { cpu::repack_q4_0x8(w, dst); }
  static Gemv portable() { return cpu::portable_gemv_q4_0x8(); }
  static std::vector<Gemv> fast() { return {cpu::avx2_gemv_q4_0x8(), cpu::vnni_gemv_q4_0x8()}; }
};

struct Q8_0x8 {
  static constexpr GgmlType kType = GgmlType::Q8_0, kOtherType = GgmlType::Q4_0;
  static constexpr WeightLayout kLayout = WeightLayout::kQ8_0x8;
  static constexpr const char* kName = "q8_0";
  using Block = cpu::BlockQ8_0x8;
  using Gemv = cpu::GemvQ8_0x8;
  static bool can_repack(const Weight& w) { return cpu::can_repack_q8_0x8(w); }
  static void repack(const Weight& w, uint8_t* dst) { cpu::repack_q8_0x8(w, dst); }
  static Gemv portable() { return cpu::portable_gemv_q8_0x8(); }
  static std::vector<Gemv> fast() { return {cpu::avx2_gemv_q8_0x8(), cpu::vnni_gemv_q8_0x8()}; }
};

template <typename L>
class Interleaved : public ::testing::Test {};
using Layouts = ::testing::Types<Q4_0x8, Q8_0x8>;
struct LayoutName {
  template <typename L>
  static std::string GetName(int) {
    return L::kName;
  }
};
TYPED_TEST_SUITE(Interleaved, Layouts, LayoutName);

TYPED_TEST(Interleaved, RepackedMatmulMatchesRowsAndReference) {
  using L = TypeParam;
  ThreadPool pool(2);
  cpu::MatmulScratch scratch;
  uint32_t seed = 300;
  for (int64_t in : {32, 256, 2048}) {
    for (int64_t out : {8, 24, 64}) {
      // 1, 3: single-token chunks; 4, 9: the 4-token chunk; 17, 37: the 8-token one, tails too.
      for (int64_t n_tok : {1, 3, 4, 9, 17, 37}) {
        const test::TestWeight tw(L::kType, in, out, seed++);
        ASSERT_TRUE(L::can_repack(tw.w));
        std::vector<uint8_t> packed(tw.bytes.size());
        L::repack(tw.w, packed.data());
        Weight pw = tw.w;
        pw.data = packed.data();
        pw.layout = L::kLayout;
        const auto x = test::random_floats(static_cast<size_t>(in * n_tok), seed++);
        std::vector<float> rows(static_cast<size_t>(out * n_tok)), inter(rows.size());
        cpu::matmul(pool, tw.w, x.data(), n_tok, rows.data(), scratch);
        cpu::matmul(pool, pw, x.data(), n_tok, inter.data(), scratch);
        const auto xd = test::to_double(x);
        std::vector<double> ref(rows.size());
        ref::matmul(tw.w, xd.data(), n_tok, ref.data());
        for (size_t i = 0; i < rows.size(); ++i) {
          ASSERT_NEAR(inter[i], rows[i], 1e-4 * (1.0 + std::abs(rows[i])))
              << "in " << in << " out " << out << " tokens " << n_tok << " at " << i;
        }
        EXPECT_LT(test::nmse(inter.data(), ref.data(), ref.size()), tolerance::kQuantizedNmse);
      }
    }
  }
  EXPECT_FALSE(L::can_repack(test::TestWeight(L::kType, 64, 12, 1).w));
  EXPECT_FALSE(L::can_repack(test::TestWeight(L::kOtherType, 64, 16, 1).w));
}

// Each fast kernel against the portable one on the same packed weights, for
// token counts that use every chunk size (8, 4, 1) of the kernels.
TYPED_TEST(Interleaved, FastAndPortableKernelsAgree) {
  using L = TypeParam;
  constexpr int kTok = 13;
  const int64_t in = 512, nb = in / 32;
  const test::TestWeight tw(L::kType, in, 8, 19);
  std::vector<uint8_t> packed(tw.bytes.size());
  L::repack(tw.w, packed.data());
  const test::TestWeight xq(GgmlType::Q8_0, in, kTok, 20);
  std::vector<std::vector<int32_t>> sums(kTok, std::vector<int32_t>(static_cast<size_t>(nb)));
  const void* xs[kTok];
  const int32_t* ss[kTok];
  float b[kTok][8];
  float* yb[kTok];
  for (int t = 0; t < kTok; ++t) {
    xs[t] = xq.w.row(t);
    const auto* blocks = static_cast<const int8_t*>(xs[t]);
    for (int64_t k = 0; k < nb; ++k) {
      int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += blocks[k * 34 + 2 + j];
      sums[static_cast<size_t>(t)][static_cast<size_t>(k)] = s;
    }
    ss[t] = sums[static_cast<size_t>(t)].data();
    yb[t] = b[t];
  }
  const auto* group = reinterpret_cast<const typename L::Block*>(packed.data());
  L::portable()(group, nb, xs, ss, kTok, yb);
  for (const typename L::Gemv fast : L::fast()) {
    if (fast == nullptr) {
      std::printf("[   NOTE   ] a %s x8 kernel is not available on this CPU; not compared\n",
                  L::kName);
      continue;
    }
    float a[kTok][8];
    float* ya[kTok];
    for (int t = 0; t < kTok; ++t) ya[t] = a[t];
    fast(group, nb, xs, ss, kTok, ya);
    for (int t = 0; t < kTok; ++t) {
      for (int r = 0; r < 8; ++r) EXPECT_NEAR(a[t][r], b[t][r], 1e-4 * (1.0 + std::abs(b[t][r])));
    }
  }
}

TYPED_TEST(Interleaved, WholeModelSameLogitsRepackedOrNot) {
  using L = TypeParam;
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto file = std::filesystem::temp_directory_path() /
                    ("ma_" + std::string(L::kName) + "x8_" + std::to_string(::getpid()) + ".gguf");
  convert::QuantizeOptions qo;
  qo.in_path = path.string();
  qo.out_path = file.string();
  qo.type = L::kName;
  qo.progress = false;
  convert::quantize_gguf(qo);
  LoadOptions plain;
  plain.repack = false;
  const auto a = load_model(file.string(), plain);
  const auto b = load_model(file.string(), plain);
  std::filesystem::remove(file);
  ASSERT_GT(a->repack_for_cpu(), 0u) << "no weight was repacked: the test compares nothing";
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 10, 1, 268, 300, 12, 45};
  Session sa(*a, SessionOptions{}), sb(*b, SessionOptions{});
  const size_t V = static_cast<size_t>(a->hparams().n_vocab);
  std::vector<float> la(ids.size() * V), lb(la.size());
  sa.prefill_all(ids, la.data());
  sb.prefill_all(ids, lb.data());
  for (size_t i = 0; i < la.size(); ++i) ASSERT_NEAR(la[i], lb[i], 1e-3) << i;
}

}  // namespace
}  // namespace ma
