#include "backend/cpu/q8_0x8.h"

#include <cstring>

#include "core/fp16.h"
#include "quant/blocks.h"

namespace ma::cpu {
namespace {

void gemv_portable(const BlockQ8_0x8* group, int64_t n_blocks, const void* const* x_rows,
                   const int32_t* const* x_sums, int n_tokens, float* const* y) {
  for (int t = 0; t < n_tokens; ++t) {
    const auto* x = static_cast<const BlockQ8_0*>(x_rows[t]);
    float acc[8] = {};
    for (int64_t k = 0; k < n_blocks; ++k) {
      const BlockQ8_0x8& b = group[k];
      for (int r = 0; r < 8; ++r) {
        int32_t sum = 0;
        for (int g = 0; g < 8; ++g) {
          for (int j = 0; j < 4; ++j) sum += b.qs[32 * g + 4 * r + j] * x[k].qs[4 * g + j];
        }
        sum -= 128 * x_sums[t][k];
        acc[r] += fp16_to_fp32(b.d[r]) * fp16_to_fp32(x[k].d) * static_cast<float>(sum);
      }
    }
    std::memcpy(y[t], acc, sizeof(acc));
  }
}

}  // namespace

bool can_repack_q8_0x8(const Weight& w) {
  return w.type == GgmlType::Q8_0 && w.layout == WeightLayout::kRows && w.out % 8 == 0 &&
         w.in % kQK == 0;
}

void repack_q8_0x8(const Weight& w, uint8_t* dst) {
  const int64_t nb = w.in / kQK;
  auto* out = reinterpret_cast<BlockQ8_0x8*>(dst);
  for (int64_t g8 = 0; g8 < w.out / 8; ++g8) {
    for (int64_t k = 0; k < nb; ++k) {
      BlockQ8_0x8& o = out[g8 * nb + k];
      for (int r = 0; r < 8; ++r) {
        const auto& b = reinterpret_cast<const BlockQ8_0*>(w.row(g8 * 8 + r))[k];
        o.d[r] = b.d;
        for (int g = 0; g < 8; ++g) {
          for (int j = 0; j < 4; ++j) {
            o.qs[32 * g + 4 * r + j] = static_cast<uint8_t>(b.qs[4 * g + j] + 128);
          }
        }
      }
    }
  }
}

GemvQ8_0x8 portable_gemv_q8_0x8() {
  return gemv_portable;
}

}  // namespace ma::cpu
