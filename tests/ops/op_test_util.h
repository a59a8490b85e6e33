// Random data, error measures and tolerance choices for the op-by-op tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backend/weight.h"
#include "ops/tolerances.h"
#include "quant/quantize.h"

namespace ma::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// Normalised mean squared error of `got` against `ref`.
template <typename T>
double nmse(const T* got, const double* ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(got[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0 ? num / den : num;
}

template <typename T>
double max_abs_diff(const T* got, const double* ref, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(got[i]) - ref[i]));
  return m;
}

// A weight of `type` with `out` rows of `in` random values, quantized.
struct TestWeight {
  std::vector<uint8_t> bytes;
  Weight w;
  TestWeight(GgmlType type, int64_t in, int64_t out, uint32_t seed) {
    const auto f = random_floats(static_cast<size_t>(in * out), seed, 0.5f);
    const size_t row = ggml_row_size(type, static_cast<uint64_t>(in));
    bytes.resize(row * static_cast<size_t>(out));
    for (int64_t r = 0; r < out; ++r) {
      quantize_row(type, f.data() + r * in, bytes.data() + static_cast<size_t>(r) * row, in);
    }
    w.type = type;
    w.in = in;
    w.out = out;
    w.data = bytes.data();
    w.row_bytes = row;
  }
};

// An F32 weight {in, out} of normal values with standard deviation `std`.
struct F32Weight {
  std::vector<float> values;
  Weight w;
  F32Weight(int64_t in, int64_t out, uint32_t seed, float std)
      : values(random_floats(static_cast<size_t>(in * out), seed, std)) {
    w.type = GgmlType::F32;
    w.in = in;
    w.out = out;
    w.data = reinterpret_cast<const uint8_t*>(values.data());
    w.row_bytes = static_cast<size_t>(in) * sizeof(float);
  }
};

// The NMSE bound of a matmul with weights of type t against the fp64
// reference. A GPU's prefill rounds activations to the weight's 16-bit type
// for the tensor cores (gpu_prefill); decode and the CPU keep them in fp32.
inline double matmul_tolerance(GgmlType t, bool gpu_prefill = false) {
  switch (t) {
    case GgmlType::F32:
      return tolerance::kFp32Nmse;
    case GgmlType::F16:
    case GgmlType::BF16:
      return gpu_prefill ? tolerance::kHalfActivationNmse : tolerance::kHalfWeightNmse;
    default:
      return tolerance::kQuantizedNmse;
  }
}

}  // namespace ma::test
