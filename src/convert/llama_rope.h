// Llama 3.1-style RoPE scaling: per-frequency factors stored as the
// rope_freqs.weight tensor (used by convert and synth).
#pragma once

#include <cstdint>
#include <vector>

namespace ma::convert {

struct Llama3Rope {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_context = 8192.0;
};

// head_dim / 2 factors.
std::vector<float> llama3_rope_factors(double base, uint64_t head_dim, const Llama3Rope& p);

}  // namespace ma::convert
