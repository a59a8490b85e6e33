#include "convert/file_type.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.h"

namespace ma::convert {
namespace {

// llama.cpp's LLAMA_FTYPE_* ids (gguf-py LlamaFileType).
enum Ftype : uint32_t {
  kAllF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kBF16 = 32,
};

struct Entry {
  const char* name;
  uint32_t ftype;
  GgmlType base;
};

// "Q3_K", "Q4_K", "Q5_K" are aliases of the _M mixes, as in llama-quantize.
constexpr Entry kTypes[] = {
    {"F32", kAllF32, GgmlType::F32},     {"F16", kF16, GgmlType::F16},
    {"BF16", kBF16, GgmlType::BF16},     {"Q8_0", kQ8_0, GgmlType::Q8_0},
    {"Q4_0", kQ4_0, GgmlType::Q4_0},     {"Q4_1", kQ4_1, GgmlType::Q4_1},
    {"Q5_0", kQ5_0, GgmlType::Q5_0},     {"Q5_1", kQ5_1, GgmlType::Q5_1},
    {"Q2_K", kQ2_K, GgmlType::Q2_K},     {"Q3_K", kQ3_K_M, GgmlType::Q3_K},
    {"Q3_K_S", kQ3_K_S, GgmlType::Q3_K}, {"Q3_K_M", kQ3_K_M, GgmlType::Q3_K},
    {"Q3_K_L", kQ3_K_L, GgmlType::Q3_K}, {"Q4_K", kQ4_K_M, GgmlType::Q4_K},
    {"Q4_K_S", kQ4_K_S, GgmlType::Q4_K}, {"Q4_K_M", kQ4_K_M, GgmlType::Q4_K},
    {"Q5_K", kQ5_K_M, GgmlType::Q5_K},   {"Q5_K_S", kQ5_K_S, GgmlType::Q5_K},
    {"Q5_K_M", kQ5_K_M, GgmlType::Q5_K}, {"Q6_K", kQ6_K, GgmlType::Q6_K},
};

bool is_float(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int layer_of(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

// llama.cpp spends more bits on the first and last eighth of the layers and on
// every third layer in between.
bool use_more_bits(int i, int n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

GgmlType mix_attn_v(uint32_t ft, GgmlType t, int i, int n, uint32_t n_gqa) {
  switch (ft) {
    case kQ2_K:
      return n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    case kQ3_K_M:
      return i < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    case kQ3_K_L:
      return GgmlType::Q5_K;
    case kQ4_K_M:
    case kQ5_K_M:
      return use_more_bits(i, n) ? GgmlType::Q6_K : t;
    case kQ4_K_S:
      return i < 4 ? GgmlType::Q5_K : t;
    default:
      return t;
  }
}

GgmlType mix_ffn_down(uint32_t ft, GgmlType t, int i, int n) {
  switch (ft) {
    case kQ2_K:
      return GgmlType::Q3_K;
    case kQ3_K_M:
      return i < n / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    case kQ3_K_L:
      return GgmlType::Q5_K;
    case kQ4_K_M:
    case kQ5_K_M:
      return use_more_bits(i, n) ? GgmlType::Q6_K : t;
    case kQ4_K_S:
      return i < n / 8 ? GgmlType::Q5_K : t;
    default:
      return t;
  }
}

GgmlType mix_attn_output(uint32_t ft, GgmlType t) {
  switch (ft) {
    case kQ2_K:
      return GgmlType::Q3_K;
    case kQ3_K_M:
      return GgmlType::Q4_K;
    case kQ3_K_L:
      return GgmlType::Q5_K;
    default:
      return t;
  }
}

}  // namespace

std::string file_type_names() {
  std::string out;
  for (const auto& e : kTypes) {
    if (!out.empty()) out += ", ";
    for (const char* c = e.name; *c; ++c) out += static_cast<char>(std::tolower(*c));
  }
  return out;
}

FileType parse_file_type(std::string_view name) {
  std::string up(name);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  for (const auto& e : kTypes) {
    if (up == e.name) return {e.name, e.ftype, e.base};
  }
  throw Error("unknown type '" + std::string(name) + "'; valid types: " + file_type_names());
}

GgmlType fit_row_length(GgmlType want, uint64_t n) {
  auto fits = [n](GgmlType t) { return n % ggml_type_traits(t).block_size == 0; };
  if (fits(want)) return want;
  GgmlType alt = GgmlType::F16;
  switch (want) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
      alt = GgmlType::Q4_0;
      break;
    case GgmlType::Q4_K:
      alt = GgmlType::Q5_0;
      break;
    case GgmlType::Q5_K:
      alt = GgmlType::Q5_1;
      break;
    case GgmlType::Q6_K:
      alt = GgmlType::Q8_0;
      break;
    default:
      break;
  }
  return fits(alt) ? alt : GgmlType::F16;
}

GgmlType choose_tensor_type(const FileType& ft, const TensorSlot& s) {
  if (s.shape.size() < 2) return GgmlType::F32;  // norms, biases, rope factors
  if (is_float(ft.base)) return ft.base;
  const uint64_t row = s.shape[0];
  const int n = static_cast<int>(s.n_layers);
  const int i = layer_of(s.name);
  GgmlType t = ft.base;
  const bool is_output =
      s.name == "output.weight" || (s.tied_output && s.name == "token_embd.weight");
  if (is_output) {
    // The LM head is the most sensitive matrix: Q6_K (Q8_0 for Q8_0 files or
    // rows that are no multiple of 256).
    if (row % 256 != 0) {
      t = GgmlType::Q8_0;
    } else if (ft.base != GgmlType::Q8_0) {
      t = GgmlType::Q6_K;
    }
  } else if (i >= 0 && ends_with(s.name, ".attn_v.weight")) {
    t = mix_attn_v(ft.ftype, t, i, n, s.n_gqa);
  } else if (i >= 0 && ends_with(s.name, ".ffn_down.weight")) {
    t = mix_ffn_down(ft.ftype, t, i, n);
  } else if (i >= 0 && ends_with(s.name, ".attn_output.weight")) {
    t = mix_attn_output(ft.ftype, t);
  }
  return fit_row_length(t, row);
}

}  // namespace ma::convert
