// The 8-row interleaved Q4_0 layout: repacked matmuls equal the row layout's
// (same quants, other summation order) and the fp64 reference; the AVX2 and
// portable kernels agree; a whole model gives the same logits either way.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "backend/cpu/matmul.h"
#include "backend/cpu/q4_0x8.h"
#include "convert/requantize.h"
#include "model/arch_registry.h"
#include "op_test_util.h"
#include "ops/reference_ops.h"
#include "ops/tolerances.h"
#include "runtime/session.h"
#include "test_support.h"

namespace ma {
namespace {

TEST(OpsQ4_0x8, RepackedMatmulMatchesRowsAndReference) {
  ThreadPool pool(2);
  cpu::MatmulScratch scratch;
  uint32_t seed = 300;
  for (int64_t in : {32, 256, 2048}) {
    for (int64_t out : {8, 24, 64}) {
      for (int64_t n_tok : {1, 3, 4, 9, 37}) {
        const test::TestWeight tw(GgmlType::Q4_0, in, out, seed++);
        ASSERT_TRUE(cpu::can_repack_q4_0x8(tw.w));
        std::vector<uint8_t> packed(tw.bytes.size());
        cpu::repack_q4_0x8(tw.w, packed.data());
        Weight pw = tw.w;
        pw.data = packed.data();
        pw.layout = WeightLayout::kQ4_0x8;
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
  EXPECT_FALSE(cpu::can_repack_q4_0x8(test::TestWeight(GgmlType::Q4_0, 64, 12, 1).w));
  EXPECT_FALSE(cpu::can_repack_q4_0x8(test::TestWeight(GgmlType::Q8_0, 64, 16, 1).w));
}

void expect_same_as_portable(cpu::GemvQ4_0x8 fast);

TEST(OpsQ4_0x8, FastAndPortableKernelsAgree) {
  for (const cpu::GemvQ4_0x8 fast : {cpu::avx2_gemv_q4_0x8(), cpu::vnni_gemv_q4_0x8()}) {
    if (fast == nullptr) {
      std::printf("[   NOTE   ] a Q4_0x8 kernel is not available on this CPU; not compared\n");
      continue;
    }
    expect_same_as_portable(fast);
  }
}

void expect_same_as_portable(cpu::GemvQ4_0x8 fast) {
  const int64_t in = 512, nb = in / 32;
  const test::TestWeight tw(GgmlType::Q4_0, in, 8, 9);
  std::vector<uint8_t> packed(tw.bytes.size());
  cpu::repack_q4_0x8(tw.w, packed.data());
  const test::TestWeight xq(GgmlType::Q8_0, in, 5, 10);
  std::vector<std::vector<int32_t>> sums(5, std::vector<int32_t>(static_cast<size_t>(nb)));
  const void* xs[5];
  const int32_t* ss[5];
  float a[5][8], b[5][8];
  float* ya[5];
  float* yb[5];
  for (int t = 0; t < 5; ++t) {
    xs[t] = xq.w.row(t);
    const auto* blocks = static_cast<const int8_t*>(xs[t]);
    for (int64_t k = 0; k < nb; ++k) {
      int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += blocks[k * 34 + 2 + j];
      sums[static_cast<size_t>(t)][static_cast<size_t>(k)] = s;
    }
    ss[t] = sums[static_cast<size_t>(t)].data();
    ya[t] = a[t];
    yb[t] = b[t];
  }
  const auto* group = reinterpret_cast<const cpu::BlockQ4_0x8*>(packed.data());
  fast(group, nb, xs, ss, 5, ya);
  cpu::portable_gemv_q4_0x8()(group, nb, xs, ss, 5, yb);
  for (int t = 0; t < 5; ++t) {
    for (int r = 0; r < 8; ++r) EXPECT_NEAR(a[t][r], b[t][r], 1e-4 * (1.0 + std::abs(b[t][r])));
  }
}

TEST(OpsQ4_0x8, WholeModelSameLogitsRepackedOrNot) {
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto q4 = std::filesystem::temp_directory_path() /
                  ("ma_q4_0x8_" + std::to_string(::getpid()) + ".gguf");
  convert::QuantizeOptions qo;
  qo.in_path = path.string();
  qo.out_path = q4.string();
  qo.type = "q4_0";
  qo.progress = false;
  convert::quantize_gguf(qo);
  LoadOptions packed, plain;
  plain.repack = false;
  const auto a = load_model(q4.string(), packed);
  const auto b = load_model(q4.string(), plain);
  std::filesystem::remove(q4);
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 10, 1, 268};
  Session sa(*a, SessionOptions{}), sb(*b, SessionOptions{});
  const size_t V = static_cast<size_t>(a->hparams().n_vocab);
  std::vector<float> la(ids.size() * V), lb(la.size());
  sa.prefill_all(ids, la.data());
  sb.prefill_all(ids, lb.data());
  for (size_t i = 0; i < la.size(); ++i) ASSERT_NEAR(la[i], lb[i], 1e-3) << i;
}

}  // namespace
}  // namespace ma
