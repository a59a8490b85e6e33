// Q2_K .. Q6_K and Q8_K: 256-element super-blocks. Decoders use ggml's
// per-element arithmetic (which products happen in float, in which order) so
// that results are bit-identical. Encoders fit each sub-block, quantize the
// sub-block scales against an fp16 super-scale, then re-pick every level with
// the scales as decoded.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "quant/block_codecs.h"
#include "quant/kquant_fit.h"

namespace ma {
namespace {

// Element e of a Q2_K/Q3_K super-block: byte qs[e / 128 * 32 + e % 32],
// bit pair (e / 32) % 4; Q3_K's high bit is bit e / 32 of hmask[e % 32].
int q2_byte(int e) {
  return e / 128 * 32 + e % 32;
}
int q2_shift(int e) {
  return 2 * ((e / 32) % 4);
}

// Element e of a Q4_K/Q5_K super-block: nibble (e / 32) % 2 of qs[e / 64 * 32 + e % 32];
// Q5_K's fifth bit is bit e / 32 of qh[e % 32].
int q4_byte(int e) {
  return e / 64 * 32 + e % 32;
}
int q4_shift(int e) {
  return 4 * ((e / 32) % 2);
}

// Element e of a Q6_K super-block: within each half of 128, group g = (e % 128) / 32
// takes nibble g / 2 of ql[half * 64 + g % 2 * 32 + e % 32] and bits 2g of qh[half * 32 + e % 32].
int q6_group(int e) {
  return (e % 128) / 32;
}
int q6_ql_byte(int e) {
  return e / 128 * 64 + q6_group(e) % 2 * 32 + e % 32;
}
int q6_qh_byte(int e) {
  return e / 128 * 32 + e % 32;
}

// Signed value of largest magnitude among n values.
float signed_absmax(const float* v, int n) {
  float best = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(v[i]) > std::fabs(best)) best = v[i];
  }
  return best;
}

// Shared by Q2_K (4-bit scale/min, 16 sub-blocks of 16) and Q4_K/Q5_K
// (6-bit scale/min, 8 sub-blocks of 32): picks d, dmin, the integer scale and
// min of each sub-block, and the level of every element.
struct AffineSuperBlock {
  uint16_t d, dmin;
  uint8_t scale[16], min[16];
  uint8_t level[kQK_K];
};

AffineSuperBlock fit_affine_super_block(const float* x, int sub_size, int nmax, int scale_max) {
  const int nsub = kQK_K / sub_size;
  AffineFit fits[16];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < nsub; ++s) {
    fits[s] = fit_affine(x + s * sub_size, sub_size, nmax);
    max_scale = std::max(max_scale, fits[s].scale);
    max_min = std::max(max_min, fits[s].min);
  }
  AffineSuperBlock out{};
  out.d = fp32_to_fp16(max_scale / static_cast<float>(scale_max));
  out.dmin = fp32_to_fp16(max_min / static_cast<float>(scale_max));
  const float d = fp16_to_fp32(out.d);
  const float dmin = fp16_to_fp32(out.dmin);
  for (int s = 0; s < nsub; ++s) {
    out.scale[s] = static_cast<uint8_t>(d > 0 ? round_clamped(fits[s].scale / d, 0, scale_max) : 0);
    out.min[s] =
        static_cast<uint8_t>(dmin > 0 ? round_clamped(fits[s].min / dmin, 0, scale_max) : 0);
  }
  for (int e = 0; e < kQK_K; ++e) {
    const int s = e / sub_size;
    const float step = d * out.scale[s];
    const float min = dmin * out.min[s];
    out.level[e] = static_cast<uint8_t>(nearest_level(x[e], step, min, 0, nmax));
  }
  return out;
}

// Shared by Q3_K (6-bit signed scales, levels -4..3) and Q6_K (8-bit signed
// scales, levels -32..31); both use 16 sub-blocks of 16.
struct SymmetricSuperBlock {
  uint16_t d;
  int8_t scale[16];
  int8_t level[kQK_K];
};

SymmetricSuperBlock fit_symmetric_super_block(const float* x, int nmax, int scale_nmax) {
  SymmetricSuperBlock out{};
  float scales[16];
  for (int s = 0; s < 16; ++s) scales[s] = fit_symmetric(x + 16 * s, 16, nmax, out.level + 16 * s);
  // The largest scale maps onto -scale_nmax, the one level with no positive twin.
  out.d = fp32_to_fp16(signed_absmax(scales, 16) / static_cast<float>(-scale_nmax));
  const float d = fp16_to_fp32(out.d);
  for (int s = 0; s < 16; ++s) {
    out.scale[s] =
        static_cast<int8_t>(d != 0 ? round_clamped(scales[s] / d, -scale_nmax, scale_nmax - 1) : 0);
  }
  for (int e = 0; e < kQK_K; ++e) {
    const float step = d * out.scale[e / 16];
    out.level[e] = static_cast<int8_t>(nearest_level(x[e], step, 0.0f, -nmax, nmax - 1));
  }
  return out;
}

}  // namespace

// ---- decode ---------------------------------------------------------------

void dequantize_block(const BlockQ2_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const float dmin = fp16_to_fp32(b.dmin);
  for (int e = 0; e < kQK_K; ++e) {
    const uint8_t sc = b.scales[e / 16];
    const float dl = d * static_cast<float>(sc & 0xF);
    const float ml = dmin * static_cast<float>(sc >> 4);
    const int q = (b.qs[q2_byte(e)] >> q2_shift(e)) & 3;
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

void dequantize_block(const BlockQ3_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < kQK_K; ++e) {
    const float dl = d * static_cast<float>(unpack_scale_q3_k(b.scales, e / 16) - 32);
    const int low = (b.qs[q2_byte(e)] >> q2_shift(e)) & 3;
    const bool high = (b.hmask[e % 32] >> (e / 32)) & 1;
    y[e] = dl * static_cast<float>(low - (high ? 0 : 4));
  }
}

void dequantize_block(const BlockQ4_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const float dmin = fp16_to_fp32(b.dmin);
  for (int e = 0; e < kQK_K; ++e) {
    const ScaleMin sm = unpack_scale_min_k4(b.scales, e / 32);
    const float dl = d * static_cast<float>(sm.scale);
    const float ml = dmin * static_cast<float>(sm.min);
    const int q = (b.qs[q4_byte(e)] >> q4_shift(e)) & 0xF;
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

void dequantize_block(const BlockQ5_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const float dmin = fp16_to_fp32(b.dmin);
  for (int e = 0; e < kQK_K; ++e) {
    const ScaleMin sm = unpack_scale_min_k4(b.scales, e / 32);
    const float dl = d * static_cast<float>(sm.scale);
    const float ml = dmin * static_cast<float>(sm.min);
    const int low = (b.qs[q4_byte(e)] >> q4_shift(e)) & 0xF;
    const int high = (b.qh[e % 32] >> (e / 32)) & 1;
    y[e] = dl * static_cast<float>(low + 16 * high) - ml;
  }
}

void dequantize_block(const BlockQ6_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < kQK_K; ++e) {
    const int g = q6_group(e);
    const int low = (b.ql[q6_ql_byte(e)] >> (4 * (g / 2))) & 0xF;
    const int high = (b.qh[q6_qh_byte(e)] >> (2 * g)) & 3;
    const float q = static_cast<float>((low | high << 4) - 32);
    y[e] = d * static_cast<float>(b.scales[e / 16]) * q;
  }
}

void dequantize_block(const BlockQ8_K& b, float* y) {
  for (int e = 0; e < kQK_K; ++e) y[e] = b.d * static_cast<float>(b.qs[e]);
}

// ---- encode ---------------------------------------------------------------

void quantize_block(const float* x, BlockQ2_K& b) {
  const AffineSuperBlock f = fit_affine_super_block(x, 16, 3, 15);
  b.d = f.d;
  b.dmin = f.dmin;
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(f.scale[s] | f.min[s] << 4);
  std::memset(b.qs, 0, sizeof b.qs);
  for (int e = 0; e < kQK_K; ++e)
    b.qs[q2_byte(e)] |= static_cast<uint8_t>(f.level[e] << q2_shift(e));
}

void quantize_block(const float* x, BlockQ3_K& b) {
  const SymmetricSuperBlock f = fit_symmetric_super_block(x, 4, 32);
  b.d = f.d;
  uint8_t stored[16];
  for (int s = 0; s < 16; ++s) stored[s] = static_cast<uint8_t>(f.scale[s] + 32);
  pack_scales_q3_k(stored, b.scales);
  std::memset(b.qs, 0, sizeof b.qs);
  std::memset(b.hmask, 0, sizeof b.hmask);
  for (int e = 0; e < kQK_K; ++e) {
    const int u = f.level[e] + 4;  // 0..7; the high bit set means "no -4"
    b.qs[q2_byte(e)] |= static_cast<uint8_t>((u & 3) << q2_shift(e));
    b.hmask[e % 32] |= static_cast<uint8_t>((u >> 2) << (e / 32));
  }
}

void quantize_block(const float* x, BlockQ4_K& b) {
  const AffineSuperBlock f = fit_affine_super_block(x, 32, 15, 63);
  b.d = f.d;
  b.dmin = f.dmin;
  pack_scale_min_k4(f.scale, f.min, b.scales);
  std::memset(b.qs, 0, sizeof b.qs);
  for (int e = 0; e < kQK_K; ++e)
    b.qs[q4_byte(e)] |= static_cast<uint8_t>(f.level[e] << q4_shift(e));
}

void quantize_block(const float* x, BlockQ5_K& b) {
  const AffineSuperBlock f = fit_affine_super_block(x, 32, 31, 63);
  b.d = f.d;
  b.dmin = f.dmin;
  pack_scale_min_k4(f.scale, f.min, b.scales);
  std::memset(b.qs, 0, sizeof b.qs);
  std::memset(b.qh, 0, sizeof b.qh);
  for (int e = 0; e < kQK_K; ++e) {
    b.qs[q4_byte(e)] |= static_cast<uint8_t>((f.level[e] & 0xF) << q4_shift(e));
    b.qh[e % 32] |= static_cast<uint8_t>((f.level[e] >> 4) << (e / 32));
  }
}

void quantize_block(const float* x, BlockQ6_K& b) {
  const SymmetricSuperBlock f = fit_symmetric_super_block(x, 32, 128);
  b.d = f.d;
  std::memcpy(b.scales, f.scale, sizeof b.scales);
  std::memset(b.ql, 0, sizeof b.ql);
  std::memset(b.qh, 0, sizeof b.qh);
  for (int e = 0; e < kQK_K; ++e) {
    const int u = f.level[e] + 32;  // 0..63
    const int g = q6_group(e);
    b.ql[q6_ql_byte(e)] |= static_cast<uint8_t>((u & 0xF) << (4 * (g / 2)));
    b.qh[q6_qh_byte(e)] |= static_cast<uint8_t>((u >> 4) << (2 * g));
  }
}

// ggml's reference Q8_K quantizer: the extreme maps to -127, round half to even.
void quantize_block(const float* x, BlockQ8_K& b) {
  const float max = signed_absmax(x, kQK_K);
  std::memset(b.bsums, 0, sizeof b.bsums);
  if (max == 0.0f) {
    b.d = 0.0f;
    std::memset(b.qs, 0, sizeof b.qs);
    return;
  }
  const float iscale = -127.0f / max;
  for (int e = 0; e < kQK_K; ++e) {
    // |iscale * x| <= 127, so the lower bound never binds.
    b.qs[e] = static_cast<int8_t>(round_clamped(iscale * x[e], -128, 127));
    b.bsums[e / 16] = static_cast<int16_t>(b.bsums[e / 16] + b.qs[e]);
  }
  b.d = 1 / iscale;
}

}  // namespace ma
