// Row-level dispatch: plain element types are converted here, block formats
// go block by block through block_codecs.h. Blocks are memcpy'd in and out,
// so rows inside a mapped file need no particular alignment.
#include "quant/quantize.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "core/fp16.h"
#include "quant/block_codecs.h"

namespace ma {
namespace {

template <class Block>
void dequantize_blocks(const void* src, float* dst, int64_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (int64_t i = 0; i < n / Block::kElems; ++i) {
    Block b;
    std::memcpy(&b, bytes + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
    dequantize_block(b, dst + i * Block::kElems);
  }
}

template <class Block>
void quantize_blocks(const float* src, void* dst, int64_t n) {
  auto* bytes = static_cast<unsigned char*>(dst);
  for (int64_t i = 0; i < n / Block::kElems; ++i) {
    Block b{};
    quantize_block(src + i * Block::kElems, b);
    std::memcpy(bytes + i * static_cast<int64_t>(sizeof(Block)), &b, sizeof(Block));
  }
}

// Plain element types, read with memcpy for the same alignment reason.
template <class T, class Convert>
void convert_from(const void* src, float* dst, int64_t n, Convert convert) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    dst[i] = convert(v);
  }
}

template <class T, class Convert>
void convert_to(const float* src, void* dst, int64_t n, Convert convert) {
  auto* bytes = static_cast<unsigned char*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const T v = convert(src[i]);
    std::memcpy(bytes + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
  }
}

template <class T>
float to_float(T v) {
  return static_cast<float>(v);
}

[[noreturn]] void unsupported(const char* what, GgmlType type) {
  throw Error(std::string(what) + ": unsupported tensor type " + std::string(ggml_type_name(type)));
}

// Refuses types we cannot decode by name before looking at the length.
void check_row(const char* what, GgmlType type, int64_t n) {
  const auto& traits = ggml_type_traits(type);
  if (!traits.supported) unsupported(what, type);
  if (n < 0 || n % traits.block_size != 0) {
    throw Error(std::string("row of ") + std::to_string(n) + " elements is not a whole number of " +
                std::string(traits.name) + " blocks of " + std::to_string(traits.block_size));
  }
}

}  // namespace

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  check_row("dequantize", type, n);
  switch (type) {
    case GgmlType::F32:
      return convert_from<float>(src, dst, n, to_float<float>);
    case GgmlType::F16:
      return convert_from<uint16_t>(src, dst, n, fp16_to_fp32);
    case GgmlType::BF16:
      return convert_from<uint16_t>(src, dst, n, bf16_to_fp32);
    case GgmlType::F64:
      return convert_from<double>(src, dst, n, to_float<double>);
    case GgmlType::I8:
      return convert_from<int8_t>(src, dst, n, to_float<int8_t>);
    case GgmlType::I16:
      return convert_from<int16_t>(src, dst, n, to_float<int16_t>);
    case GgmlType::I32:
      return convert_from<int32_t>(src, dst, n, to_float<int32_t>);
    case GgmlType::I64:
      return convert_from<int64_t>(src, dst, n, to_float<int64_t>);
    case GgmlType::Q4_0:
      return dequantize_blocks<BlockQ4_0>(src, dst, n);
    case GgmlType::Q4_1:
      return dequantize_blocks<BlockQ4_1>(src, dst, n);
    case GgmlType::Q5_0:
      return dequantize_blocks<BlockQ5_0>(src, dst, n);
    case GgmlType::Q5_1:
      return dequantize_blocks<BlockQ5_1>(src, dst, n);
    case GgmlType::Q8_0:
      return dequantize_blocks<BlockQ8_0>(src, dst, n);
    case GgmlType::Q2_K:
      return dequantize_blocks<BlockQ2_K>(src, dst, n);
    case GgmlType::Q3_K:
      return dequantize_blocks<BlockQ3_K>(src, dst, n);
    case GgmlType::Q4_K:
      return dequantize_blocks<BlockQ4_K>(src, dst, n);
    case GgmlType::Q5_K:
      return dequantize_blocks<BlockQ5_K>(src, dst, n);
    case GgmlType::Q6_K:
      return dequantize_blocks<BlockQ6_K>(src, dst, n);
    case GgmlType::Q8_K:
      return dequantize_blocks<BlockQ8_K>(src, dst, n);
    default:
      unsupported("dequantize", type);
  }
}

bool can_quantize(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::F64:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::Q8_K:
      return true;
    default:
      return false;
  }
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
  if (!can_quantize(type)) unsupported("quantize", type);
  check_row("quantize", type, n);
  switch (type) {
    case GgmlType::F32:
      return convert_to<float>(src, dst, n, [](float v) { return v; });
    case GgmlType::F16:
      return convert_to<uint16_t>(src, dst, n, fp32_to_fp16);
    case GgmlType::BF16:
      return convert_to<uint16_t>(src, dst, n, fp32_to_bf16);
    case GgmlType::F64:
      return convert_to<double>(src, dst, n, [](float v) { return static_cast<double>(v); });
    case GgmlType::Q4_0:
      return quantize_blocks<BlockQ4_0>(src, dst, n);
    case GgmlType::Q4_1:
      return quantize_blocks<BlockQ4_1>(src, dst, n);
    case GgmlType::Q5_0:
      return quantize_blocks<BlockQ5_0>(src, dst, n);
    case GgmlType::Q5_1:
      return quantize_blocks<BlockQ5_1>(src, dst, n);
    case GgmlType::Q8_0:
      return quantize_blocks<BlockQ8_0>(src, dst, n);
    case GgmlType::Q2_K:
      return quantize_blocks<BlockQ2_K>(src, dst, n);
    case GgmlType::Q3_K:
      return quantize_blocks<BlockQ3_K>(src, dst, n);
    case GgmlType::Q4_K:
      return quantize_blocks<BlockQ4_K>(src, dst, n);
    case GgmlType::Q5_K:
      return quantize_blocks<BlockQ5_K>(src, dst, n);
    case GgmlType::Q6_K:
      return quantize_blocks<BlockQ6_K>(src, dst, n);
    case GgmlType::Q8_K:
      return quantize_blocks<BlockQ8_K>(src, dst, n);
    default:
      unsupported("quantize", type);
  }
}

}  // namespace ma
