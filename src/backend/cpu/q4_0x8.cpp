#include "backend/cpu/q4_0x8.h"

#include <cstring>

#include "core/fp16.h"
#include "quant/blocks.h"

namespace ma::cpu {
namespace {

// Quant (0..15) of element e of a Q4_0 block in the file's layout.
inline uint8_t nibble(const BlockQ4_0& b, int e) {
  return e < 16 ? b.qs[e] & 0x0f : b.qs[e - 16] >> 4;
}

void gemv_portable(const BlockQ4_0x8* group, int64_t n_blocks, const void* const* x_rows,
                   const int32_t* const* x_sums, int n_tokens, float* const* y) {
  for (int t = 0; t < n_tokens; ++t) {
    const auto* x = static_cast<const BlockQ8_0*>(x_rows[t]);
    float acc[8] = {};
    for (int64_t k = 0; k < n_blocks; ++k) {
      const BlockQ4_0x8& b = group[k];
      for (int r = 0; r < 8; ++r) {
        int32_t sum = 0;
        for (int g = 0; g < 4; ++g) {
          for (int j = 0; j < 4; ++j) {
            const uint8_t q = b.qs[32 * g + 4 * r + j];
            sum += (q & 0x0f) * x[k].qs[8 * g + j] + (q >> 4) * x[k].qs[8 * g + 4 + j];
          }
        }
        sum -= 8 * x_sums[t][k];
        acc[r] += fp16_to_fp32(b.d[r]) * fp16_to_fp32(x[k].d) * static_cast<float>(sum);
      }
    }
    std::memcpy(y[t], acc, sizeof(acc));
  }
}

}  // namespace

bool can_repack_q4_0x8(const Weight& w) {
  return w.type == GgmlType::Q4_0 && w.layout == WeightLayout::kRows && w.out % 8 == 0 &&
         w.in % kQK == 0;
}

void repack_q4_0x8(const Weight& w, uint8_t* dst) {
  const int64_t nb = w.in / kQK;
  auto* out = reinterpret_cast<BlockQ4_0x8*>(dst);
  for (int64_t g8 = 0; g8 < w.out / 8; ++g8) {
    for (int64_t k = 0; k < nb; ++k) {
      BlockQ4_0x8& o = out[g8 * nb + k];
      for (int r = 0; r < 8; ++r) {
        const auto& b = reinterpret_cast<const BlockQ4_0*>(w.row(g8 * 8 + r))[k];
        o.d[r] = b.d;
        for (int g = 0; g < 4; ++g) {
          for (int j = 0; j < 4; ++j) {
            const uint8_t lo = nibble(b, 8 * g + j);
            const uint8_t hi = nibble(b, 8 * g + 4 + j);
            o.qs[32 * g + 4 * r + j] = static_cast<uint8_t>(lo | (hi << 4));
          }
        }
      }
    }
  }
}

GemvQ4_0x8 portable_gemv_q4_0x8() {
  return gemv_portable;
}

}  // namespace ma::cpu
