// A Hugging Face model folder: config.json, the safetensors weights (one
// model.safetensors or shards listed by model.safetensors.index.json, all
// memory-mapped) and the tokenizer files, read as JSON.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert/safetensors.h"

namespace ma::convert {

// Reads and parses a JSON file; throws ma::Error naming the file.
nlohmann::json read_json_file(const std::filesystem::path& path);

class HfModel {
 public:
  static HfModel open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  // The first entry of config.json "architectures".
  const std::string& hf_architecture() const { return hf_arch_; }

  // Every tensor of every shard, in name order.
  const std::map<std::string, const StTensor*>& tensors() const { return tensors_; }
  const StTensor* find(const std::string& name) const;

  // Typed config lookups; a missing or mistyped required key throws.
  uint64_t cfg_uint(const std::string& key) const;
  uint64_t cfg_uint(const std::string& key, uint64_t fallback) const;
  double cfg_float(const std::string& key, double fallback) const;
  bool cfg_bool(const std::string& key, bool fallback) const;

 private:
  std::filesystem::path dir_;
  nlohmann::json config_;
  std::string hf_arch_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, const StTensor*> tensors_;
};

}  // namespace ma::convert
