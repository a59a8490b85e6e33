// A summary of a GGUF model for `metal-attention info`: hyperparameters read
// from the architecture's keys, the layer schedule, tensor-type histogram,
// vocabulary and a memory estimate. Pure data; printing lives in the CLI.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace ma {

struct SpecialToken {
  std::string role;  // "bos", "eos", ...
  int64_t id = -1;
  std::string text;  // the token's string, if the vocabulary has it
};

struct ModelInfo {
  std::string path;
  uint32_t gguf_version = 0;
  uint32_t alignment = 0;
  uint64_t file_size = 0;

  std::string architecture;
  std::string name;
  uint64_t n_params = 0;
  uint64_t n_tensors = 0;
  uint64_t weight_bytes = 0;
  // The weight bytes one decode token reads: all but a token embedding
  // that has a separate output head (a token reads one row of it). MoE
  // models count every expert, so it is their upper bound.
  uint64_t decode_bytes = 0;

  std::optional<uint64_t> n_layers;
  std::optional<uint64_t> n_embd;
  std::optional<uint64_t> n_ff;
  std::vector<uint64_t> n_head;     // one value, or one per layer
  std::vector<uint64_t> n_head_kv;  // one value, or one per layer
  std::optional<uint64_t> head_dim;
  std::optional<uint64_t> n_ctx;

  std::optional<uint64_t> rope_dims;
  std::optional<double> rope_freq_base;
  std::string rope_scaling = "none";
  std::optional<double> rope_scaling_factor;
  std::optional<uint64_t> rope_original_ctx;

  // One letter per layer: A attention, M Mamba, 2 Mamba-2, R RWKV, G RG-LRU, ? unknown.
  std::vector<char> schedule;

  std::map<std::string, uint64_t> tensor_types;  // type name -> tensor count

  std::string vocab_model;
  std::string vocab_pre;
  uint64_t vocab_size = 0;
  std::vector<SpecialToken> special_tokens;

  uint64_t kv_cache_bytes = 0;  // F16 cache at n_ctx for all attention layers

  static ModelInfo from_gguf(const gguf::File& file);
};

}  // namespace ma
