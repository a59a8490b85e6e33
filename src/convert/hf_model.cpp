#include "convert/hf_model.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace ma::convert {

namespace fs = std::filesystem;

nlohmann::json read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  try {
    return nlohmann::json::parse(s.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
}

HfModel HfModel::open(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": not a directory");
  HfModel m;
  m.dir_ = dir;
  const fs::path config = dir / "config.json";
  if (!fs::exists(config))
    throw Error(dir.string() + ": no config.json (not a Hugging Face model)");
  m.config_ = read_json_file(config);
  if (!m.config_.is_object()) throw Error(config.string() + ": not a JSON object");
  const auto archs = m.config_.find("architectures");
  if (archs == m.config_.end() || !archs->is_array() || archs->empty() ||
      !(*archs)[0].is_string()) {
    throw Error(config.string() + ": no \"architectures\" list naming the model class");
  }
  m.hf_arch_ = (*archs)[0].get<std::string>();

  // Shard names come from the index (deduplicated, in order), else the single file.
  std::vector<std::string> shard_names;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const nlohmann::json j = read_json_file(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
      throw Error(index.string() + ": no \"weight_map\" object");
    }
    std::set<std::string> seen;
    for (const auto& [tensor, file] : j["weight_map"].items()) {
      if (!file.is_string())
        throw Error(index.string() + ": weight_map['" + tensor + "'] not a string");
      const std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos || f.find("..") != std::string::npos) {
        throw Error(index.string() + ": shard name '" + f + "' leaves the model folder");
      }
      if (seen.insert(f).second) shard_names.push_back(f);
    }
  } else if (fs::exists(dir / "model.safetensors")) {
    shard_names.push_back("model.safetensors");
  } else if (fs::exists(dir / "pytorch_model.bin")) {
    throw Error(dir.string() + ": only pytorch_model.bin found; convert it to safetensors first");
  } else {
    throw Error(dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }
  m.shards_.reserve(shard_names.size());  // StTensor pointers stay valid
  for (const auto& name : shard_names) {
    m.shards_.push_back(SafetensorsFile::open((dir / name).string()));
  }
  for (const auto& shard : m.shards_) {
    for (const auto& t : shard.tensors()) {
      if (!m.tensors_.emplace(t.name, &t).second) {
        throw Error(shard.label() + ": tensor '" + t.name + "' also appears in another shard");
      }
    }
  }
  return m;
}

const StTensor* HfModel::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

uint64_t HfModel::cfg_uint(const std::string& key) const {
  const auto it = config_.find(key);
  if (it == config_.end() || it->is_null()) throw Error("config.json: missing \"" + key + "\"");
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    throw Error("config.json: \"" + key + "\" is not a non-negative integer");
  }
  return it->get<uint64_t>();
}

uint64_t HfModel::cfg_uint(const std::string& key, uint64_t fallback) const {
  const auto it = config_.find(key);
  return it == config_.end() || it->is_null() ? fallback : cfg_uint(key);
}

double HfModel::cfg_float(const std::string& key, double fallback) const {
  const auto it = config_.find(key);
  if (it == config_.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw Error("config.json: \"" + key + "\" is not a number");
  return it->get<double>();
}

bool HfModel::cfg_bool(const std::string& key, bool fallback) const {
  const auto it = config_.find(key);
  if (it == config_.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error("config.json: \"" + key + "\" is not a boolean");
  return it->get<bool>();
}

}  // namespace ma::convert
