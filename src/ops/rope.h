// Rotary position embedding parameters shared by the reference and the fast
// implementations. Follows the GGUF conventions: "normal" rotates adjacent
// pairs (x[2i], x[2i+1]) (llama), "neox" rotates (x[i], x[i + n_dims/2]).
// Scaling: linear divides positions, YaRN blends interpolated and original
// frequencies per dimension, llama3 arrives as per-dimension freq factors.
#pragma once

#include <cstdint>

namespace ma {

enum class RopeMode { kNormal, kNeox };

struct RopeParams {
  RopeMode mode = RopeMode::kNormal;
  int64_t n_dims = 0;  // rotated dimensions (<= head_dim, even)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;   // 1 / linear scaling factor
  float ext_factor = 0.0f;   // YaRN: > 0 enables the ramp
  float attn_factor = 1.0f;  // YaRN magnitude scale
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  int64_t n_ctx_orig = 0;               // YaRN: original training context
  const float* freq_factors = nullptr;  // [n_dims / 2] divisors of theta, or null
};

// The angle of pair i grows linearly with the position (every variant above
// keeps it so): angle = pos * rope_rate(p, i); *mscale is the magnitude factor.
double rope_rate(const RopeParams& p, int64_t i, double* mscale);

// cos/sin of the rotation of pair i (0 <= i < n_dims/2) at `pos`, in double.
void rope_angle(const RopeParams& p, int64_t pos, int64_t i, double* cos_out, double* sin_out);

}  // namespace ma
