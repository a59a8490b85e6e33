#include "backend/cpu/matmul.h"

#include <algorithm>

#include "backend/cpu/dot_kernels.h"
#include "backend/cpu/q4_0x8.h"
#include "backend/cpu/q8_0x8.h"
#include "core/error.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace ma::cpu {
namespace {

// Tokens per tile: the quantized activations of one tile stay in cache while
// every weight row of a thread's chunk is multiplied with them.
constexpr int64_t kTokenTile = 32;

DotQ8 q8_kernel(GgmlType type, const DotKernels& k) {
  switch (type) {
    case GgmlType::Q4_0:
      return k.q4_0;
    case GgmlType::Q4_1:
      return k.q4_1;
    case GgmlType::Q5_0:
      return k.q5_0;
    case GgmlType::Q5_1:
      return k.q5_1;
    case GgmlType::Q8_0:
      return k.q8_0;
    default:
      return nullptr;
  }
}

template <typename RowDot>
void tiled_rows(ThreadPool& pool, const Weight& w, int64_t n_tokens, float* y, RowDot&& dot) {
  pool.parallel_for(w.out, [&](int64_t r0, int64_t r1) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
      const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t t = t0; t < t1; ++t) y[t * w.out + r] = dot(r, t);
      }
    }
  });
}

GemvQ4_0x8 gemv_q4_0x8_kernel() {
  static const GemvQ4_0x8 k = [] {
    if (&dot_kernels() == &portable_dot_kernels()) return portable_gemv_q4_0x8();
    if (const GemvQ4_0x8 vnni = vnni_gemv_q4_0x8()) return vnni;
    const GemvQ4_0x8 avx2 = avx2_gemv_q4_0x8();
    return avx2 != nullptr ? avx2 : portable_gemv_q4_0x8();
  }();
  return k;
}

GemvQ8_0x8 gemv_q8_0x8_kernel() {
  static const GemvQ8_0x8 k = [] {
    if (&dot_kernels() == &portable_dot_kernels()) return portable_gemv_q8_0x8();
    if (const GemvQ8_0x8 vnni = vnni_gemv_q8_0x8()) return vnni;
    const GemvQ8_0x8 avx2 = avx2_gemv_q8_0x8();
    return avx2 != nullptr ? avx2 : portable_gemv_q8_0x8();
  }();
  return k;
}

// The interleaved layouts (Q4_0x8, Q8_0x8): 8 rows per kernel call, tokens in
// tiles, activations quantized once to Q8_0 with per-block quant sums.
template <typename Block, typename Gemv>
void matmul_x8(ThreadPool& pool, const Weight& w, Gemv gemv, const float* x, int64_t n_tokens,
               float* y, MatmulScratch& scratch) {
  const int64_t in = w.in, nb = in / kQK;
  const size_t act_row = static_cast<size_t>(nb) * sizeof(BlockQ8_0);
  const size_t sums_bytes = static_cast<size_t>(n_tokens * nb) * sizeof(int32_t);
  // Q8_0 blocks are 34 bytes: start the int32 sums at the next 64-byte boundary.
  const size_t sums_at = (act_row * static_cast<size_t>(n_tokens) + 63) / 64 * 64;
  uint8_t* xq = scratch.activations(sums_at + sums_bytes);
  auto* sums = reinterpret_cast<int32_t*>(xq + sums_at);
  pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      auto* blocks = reinterpret_cast<BlockQ8_0*>(xq + static_cast<size_t>(t) * act_row);
      dot_kernels().quantize_q8_0(x + t * in, blocks, in);
      for (int64_t k = 0; k < nb; ++k) {
        int32_t s = 0;
        for (int j = 0; j < kQK; ++j) s += blocks[k].qs[j];
        sums[t * nb + k] = s;
      }
    }
  });
  const auto* groups = reinterpret_cast<const Block*>(w.data);
  pool.parallel_for(w.out / 8, [&](int64_t g0, int64_t g1) {
    const void* xs[kTokenTile];
    const int32_t* ss[kTokenTile];
    float* ys[kTokenTile];
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
      const int n = static_cast<int>(std::min(kTokenTile, n_tokens - t0));
      for (int i = 0; i < n; ++i) {
        xs[i] = xq + static_cast<size_t>(t0 + i) * act_row;
        ss[i] = sums + (t0 + i) * nb;
      }
      for (int64_t g = g0; g < g1; ++g) {
        for (int i = 0; i < n; ++i) ys[i] = y + (t0 + i) * w.out + 8 * g;
        gemv(groups + g * nb, nb, xs, ss, n, ys);
      }
    }
  });
}

}  // namespace

void matmul(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y,
            MatmulScratch& scratch) {
  if (w.layout == WeightLayout::kQ4_0x8) {
    matmul_x8<BlockQ4_0x8>(pool, w, gemv_q4_0x8_kernel(), x, n_tokens, y, scratch);
    return;
  }
  if (w.layout == WeightLayout::kQ8_0x8) {
    matmul_x8<BlockQ8_0x8>(pool, w, gemv_q8_0x8_kernel(), x, n_tokens, y, scratch);
    return;
  }
  const DotKernels& k = dot_kernels();
  const int64_t in = w.in;
  switch (w.type) {
    case GgmlType::F32:
      tiled_rows(pool, w, n_tokens, y, [&](int64_t r, int64_t t) {
        return k.f32(reinterpret_cast<const float*>(w.row(r)), x + t * in, in);
      });
      return;
    case GgmlType::F16:
    case GgmlType::BF16: {
      const DotF16 dot = w.type == GgmlType::F16 ? k.f16 : k.bf16;
      tiled_rows(pool, w, n_tokens, y, [&](int64_t r, int64_t t) {
        return dot(reinterpret_cast<const uint16_t*>(w.row(r)), x + t * in, in);
      });
      return;
    }
    default:
      break;
  }
  if (const DotQ8 dot = q8_kernel(w.type, k)) {
    const size_t act_row = static_cast<size_t>(in / kQK) * sizeof(BlockQ8_0);
    uint8_t* xq = scratch.activations(act_row * static_cast<size_t>(n_tokens));
    pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        k.quantize_q8_0(x + t * in, xq + static_cast<size_t>(t) * act_row, in);
      }
    });
    const DotQ8x4 dot4 = w.type == GgmlType::Q4_0   ? k.q4_0_x4
                         : w.type == GgmlType::Q8_0 ? k.q8_0_x4
                                                    : nullptr;
    if (dot4 == nullptr || n_tokens < 4) {
      tiled_rows(pool, w, n_tokens, y, [&](int64_t r, int64_t t) {
        return dot(w.row(r), xq + static_cast<size_t>(t) * act_row, in);
      });
      return;
    }
    // Four tokens per weight-row pass; the remainder one at a time.
    pool.parallel_for(w.out, [&](int64_t r0, int64_t r1) {
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
        const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
        for (int64_t r = r0; r < r1; ++r) {
          int64_t t = t0;
          for (; t + 4 <= t1; t += 4) {
            const void* xs[4];
            for (int j = 0; j < 4; ++j) xs[j] = xq + static_cast<size_t>(t + j) * act_row;
            float out[4];
            dot4(w.row(r), xs, in, out);
            for (int j = 0; j < 4; ++j) y[(t + j) * w.out + r] = out[j];
          }
          for (; t < t1; ++t)
            y[t * w.out + r] = dot(w.row(r), xq + static_cast<size_t>(t) * act_row, in);
        }
      }
    });
    return;
  }
  const DotQ8K dot_k = w.type == GgmlType::Q4_K   ? k.q4_k
                       : w.type == GgmlType::Q6_K ? k.q6_k
                                                  : nullptr;
  if (dot_k != nullptr) {
    const size_t act_row = static_cast<size_t>(in / kQK_K) * sizeof(BlockQ8_K);
    uint8_t* xq = scratch.activations(act_row * static_cast<size_t>(n_tokens));
    pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        quantize_row(GgmlType::Q8_K, x + t * in, xq + static_cast<size_t>(t) * act_row, in);
      }
    });
    tiled_rows(pool, w, n_tokens, y, [&](int64_t r, int64_t t) {
      return dot_k(w.row(r), xq + static_cast<size_t>(t) * act_row, in);
    });
    return;
  }
  // Any other supported type: dequantize a row per thread, then float dots.
  const int nth = pool.size();
  float* rows = scratch.rows(static_cast<size_t>(in) * static_cast<size_t>(nth));
  pool.run([&](int ith, int n_threads) {
    const int64_t per = (w.out + n_threads - 1) / n_threads;
    const int64_t r0 = std::min<int64_t>(w.out, per * ith);
    const int64_t r1 = std::min<int64_t>(w.out, r0 + per);
    float* row = rows + static_cast<size_t>(ith) * static_cast<size_t>(in);
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_row(w.type, w.row(r), row, in);
      for (int64_t t = 0; t < n_tokens; ++t) y[t * w.out + r] = k.f32(row, x + t * in, in);
    }
  });
}

}  // namespace ma::cpu
