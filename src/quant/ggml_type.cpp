#include "quant/ggml_type.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "core/error.h"

namespace ma {
namespace {

constexpr uint32_t kQK = 32;    // legacy block formats
constexpr uint32_t kQKK = 256;  // k-quant super-blocks

// Sizes follow ggml's block structs; the IQ/TQ/MXFP4 rows exist so that a file
// using them is refused by name, not as an unknown id.
constexpr std::array kTypes = {
    GgmlTypeTraits{GgmlType::F32, "F32", 1, 4, true},
    GgmlTypeTraits{GgmlType::F16, "F16", 1, 2, true},
    GgmlTypeTraits{GgmlType::Q4_0, "Q4_0", kQK, 2 + kQK / 2, true},
    GgmlTypeTraits{GgmlType::Q4_1, "Q4_1", kQK, 4 + kQK / 2, true},
    GgmlTypeTraits{GgmlType::Q5_0, "Q5_0", kQK, 2 + 4 + kQK / 2, true},
    GgmlTypeTraits{GgmlType::Q5_1, "Q5_1", kQK, 4 + 4 + kQK / 2, true},
    GgmlTypeTraits{GgmlType::Q8_0, "Q8_0", kQK, 2 + kQK, true},
    GgmlTypeTraits{GgmlType::Q8_1, "Q8_1", kQK, 4 + kQK, false},
    GgmlTypeTraits{GgmlType::Q2_K, "Q2_K", kQKK, kQKK / 16 + kQKK / 4 + 4, true},
    GgmlTypeTraits{GgmlType::Q3_K, "Q3_K", kQKK, kQKK / 8 + kQKK / 4 + 12 + 2, true},
    GgmlTypeTraits{GgmlType::Q4_K, "Q4_K", kQKK, 4 + 12 + kQKK / 2, true},
    GgmlTypeTraits{GgmlType::Q5_K, "Q5_K", kQKK, 4 + 12 + kQKK / 8 + kQKK / 2, true},
    GgmlTypeTraits{GgmlType::Q6_K, "Q6_K", kQKK, kQKK / 2 + kQKK / 4 + kQKK / 16 + 2, true},
    GgmlTypeTraits{GgmlType::Q8_K, "Q8_K", kQKK, 4 + kQKK + kQKK / 16 * 2, true},
    GgmlTypeTraits{GgmlType::IQ2_XXS, "IQ2_XXS", kQKK, 2 + kQKK / 8 * 2, false},
    GgmlTypeTraits{GgmlType::IQ2_XS, "IQ2_XS", kQKK, 2 + kQKK / 8 * 2 + kQKK / 32, false},
    GgmlTypeTraits{GgmlType::IQ3_XXS, "IQ3_XXS", kQKK, 2 + 3 * (kQKK / 8), false},
    GgmlTypeTraits{GgmlType::IQ1_S, "IQ1_S", kQKK, 2 + kQKK / 8 + kQKK / 16, false},
    GgmlTypeTraits{GgmlType::IQ4_NL, "IQ4_NL", kQK, 2 + kQK / 2, false},
    GgmlTypeTraits{GgmlType::IQ3_S, "IQ3_S", kQKK, 2 + kQKK / 4 + kQKK / 8 + kQKK / 32 + 4, false},
    GgmlTypeTraits{GgmlType::IQ2_S, "IQ2_S", kQKK, 2 + kQKK / 4 + kQKK / 16, false},
    GgmlTypeTraits{GgmlType::IQ4_XS, "IQ4_XS", kQKK, 2 + 2 + kQKK / 64 + kQKK / 2, false},
    GgmlTypeTraits{GgmlType::I8, "I8", 1, 1, true},
    GgmlTypeTraits{GgmlType::I16, "I16", 1, 2, true},
    GgmlTypeTraits{GgmlType::I32, "I32", 1, 4, true},
    GgmlTypeTraits{GgmlType::I64, "I64", 1, 8, true},
    GgmlTypeTraits{GgmlType::F64, "F64", 1, 8, true},
    GgmlTypeTraits{GgmlType::IQ1_M, "IQ1_M", kQKK, kQKK / 8 + kQKK / 16 + kQKK / 32, false},
    GgmlTypeTraits{GgmlType::BF16, "BF16", 1, 2, true},
    GgmlTypeTraits{GgmlType::TQ1_0, "TQ1_0", kQKK, 2 + (kQKK - 4 * kQKK / 64) / 5 + kQKK / 64,
                   false},
    GgmlTypeTraits{GgmlType::TQ2_0, "TQ2_0", kQKK, 2 + kQKK / 4, false},
    GgmlTypeTraits{GgmlType::MXFP4, "MXFP4", kQK, 1 + kQK / 2, false},
};

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id) {
  for (const auto& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return t;
  }
  return std::nullopt;
}

const GgmlTypeTraits& ggml_type_traits(GgmlType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t;
  }
  throw Error("internal: GgmlType " + std::to_string(static_cast<uint32_t>(type)) +
              " missing from the type table");
}

std::string_view ggml_type_name(GgmlType type) {
  return ggml_type_traits(type).name;
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTypes) {
    if (t.name.size() != name.size()) continue;
    const bool same = std::equal(t.name.begin(), t.name.end(), name.begin(), [](char a, char b) {
      return std::toupper(static_cast<unsigned char>(a)) ==
             std::toupper(static_cast<unsigned char>(b));
    });
    if (same) return t.type;
  }
  return std::nullopt;
}

}  // namespace ma
