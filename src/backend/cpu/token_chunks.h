// The token loop of the interleaved-layout kernels (q4_0x8 / q8_0x8, AVX2
// and VNNI): a kernel templated on how many tokens share each unpacked
// weight group runs over the largest chunks first.
#pragma once

#include <type_traits>

namespace ma::cpu {

// chunk(std::integral_constant<int, K>{}, first) for K in kSizes (largest
// first, the last 1) while K tokens remain.
template <int... kSizes, typename Chunk>
void for_token_chunks(int n_tokens, Chunk&& chunk) {
  int t = 0;
  (
      [&] {
        for (; t + kSizes <= n_tokens; t += kSizes) chunk(std::integral_constant<int, kSizes>{}, t);
      }(),
      ...);
}

}  // namespace ma::cpu
