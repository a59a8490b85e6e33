// `metal-attention info -m FILE [--json]`: what a GGUF model is and needs.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_commands.h"
#include "gguf/gguf_file.h"
#include "model/model_info.h"

namespace ma::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

std::string human_count(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) {
    std::snprintf(buf, sizeof(buf), "%.2fB", static_cast<double>(n) / 1e9);
  } else if (n >= 1000000ull) {
    std::snprintf(buf, sizeof(buf), "%.2fM", static_cast<double>(n) / 1e6);
  } else if (n >= 1000ull) {
    std::snprintf(buf, sizeof(buf), "%.2fK", static_cast<double>(n) / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
  }
  return buf;
}

std::string join_counts(const std::vector<uint64_t>& v) {
  if (v.empty()) return "-";
  bool same = true;
  for (uint64_t x : v) same = same && x == v[0];
  if (same) return std::to_string(v[0]);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}

template <typename T>
std::string opt_str(const std::optional<T>& v) {
  if (!v) return "-";
  if constexpr (std::is_floating_point_v<T>) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", *v);
    return buf;
  } else {
    return std::to_string(*v);
  }
}

std::string schedule_string(const std::vector<char>& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ' ';
    out += s[i];
  }
  return out;
}

template <typename T>
nlohmann::json opt_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

void print_json(const ModelInfo& m) {
  nlohmann::json j;
  j["file"] = m.path;
  j["file_size"] = m.file_size;
  j["gguf_version"] = m.gguf_version;
  j["alignment"] = m.alignment;
  j["architecture"] = m.architecture;
  j["name"] = m.name;
  j["n_params"] = m.n_params;
  j["n_tensors"] = m.n_tensors;
  j["weight_bytes"] = m.weight_bytes;
  j["decode_bytes"] = m.decode_bytes;
  j["n_layers"] = opt_json(m.n_layers);
  j["n_embd"] = opt_json(m.n_embd);
  j["n_ff"] = opt_json(m.n_ff);
  j["n_head"] = m.n_head.size() == 1 ? nlohmann::json(m.n_head[0]) : nlohmann::json(m.n_head);
  j["n_head_kv"] =
      m.n_head_kv.size() == 1 ? nlohmann::json(m.n_head_kv[0]) : nlohmann::json(m.n_head_kv);
  j["head_dim"] = opt_json(m.head_dim);
  j["context_length"] = opt_json(m.n_ctx);
  j["rope"] = {{"dimension_count", opt_json(m.rope_dims)},
               {"freq_base", opt_json(m.rope_freq_base)},
               {"scaling", m.rope_scaling},
               {"scaling_factor", opt_json(m.rope_scaling_factor)},
               {"original_context_length", opt_json(m.rope_original_ctx)}};
  j["schedule"] = schedule_string(m.schedule);
  j["tensor_types"] = m.tensor_types;
  j["vocab"] = {{"model", m.vocab_model}, {"pre", m.vocab_pre}, {"size", m.vocab_size}};
  nlohmann::json specials = nlohmann::json::object();
  for (const auto& st : m.special_tokens) specials[st.role] = {{"id", st.id}, {"text", st.text}};
  j["special_tokens"] = specials;
  j["memory"] = {{"weights", m.weight_bytes},
                 {"kv_cache_f16", m.kv_cache_bytes},
                 {"total", m.weight_bytes + m.kv_cache_bytes}};
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_text(const ModelInfo& m) {
  auto row = [](const char* k, const std::string& v) { std::printf("%-15s %s\n", k, v.c_str()); };
  row("file", m.path + " (" + human_bytes(m.file_size) + ", GGUF v" +
                  std::to_string(m.gguf_version) + ", alignment " + std::to_string(m.alignment) +
                  ")");
  row("architecture", m.architecture.empty() ? "-" : m.architecture);
  if (!m.name.empty()) row("name", m.name);
  row("parameters", human_count(m.n_params) + " in " + std::to_string(m.n_tensors) + " tensors");
  row("layers", opt_str(m.n_layers));
  row("embedding", opt_str(m.n_embd));
  row("feed-forward", opt_str(m.n_ff));
  row("heads", join_counts(m.n_head) + " (KV " + join_counts(m.n_head_kv) + ", head dim " +
                   opt_str(m.head_dim) + ")");
  row("context", opt_str(m.n_ctx));
  std::string rope = "dims " + opt_str(m.rope_dims) + ", base " + opt_str(m.rope_freq_base) +
                     ", scaling " + m.rope_scaling;
  if (m.rope_scaling_factor) rope += " x" + opt_str(m.rope_scaling_factor);
  if (m.rope_original_ctx) rope += " (original context " + opt_str(m.rope_original_ctx) + ")";
  row("rope", rope);
  if (!m.schedule.empty()) row("schedule", schedule_string(m.schedule));
  std::string types;
  for (const auto& [name, count] : m.tensor_types) {
    types += (types.empty() ? "" : ", ") + name + ": " + std::to_string(count);
  }
  row("tensor types", types.empty() ? "-" : types);
  std::string vocab = m.vocab_model.empty() ? "-" : m.vocab_model;
  if (!m.vocab_pre.empty()) vocab += " (pre " + m.vocab_pre + ")";
  vocab += ", " + std::to_string(m.vocab_size) + " tokens";
  row("vocabulary", vocab);
  std::string specials;
  for (const auto& st : m.special_tokens) {
    specials += (specials.empty() ? "" : ", ") + st.role + " " + std::to_string(st.id);
    if (!st.text.empty()) specials += " '" + st.text + "'";
  }
  row("special tokens", specials.empty() ? "-" : specials);
  std::string mem = "weights " + human_bytes(m.weight_bytes) + " (" + human_bytes(m.decode_bytes) +
                    " read per decode token)";
  if (m.kv_cache_bytes > 0) {
    mem += " + F16 KV cache at full context " + human_bytes(m.kv_cache_bytes) + " = " +
           human_bytes(m.weight_bytes + m.kv_cache_bytes);
  }
  row("memory", mem);
}

}  // namespace

void register_info(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a GGUF model: shapes, schedule, vocabulary");
  cmd->add_option("-m,--model", opts->model, "GGUF file")->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->callback([opts] {
    const gguf::File file = gguf::File::open(opts->model);
    const ModelInfo info = ModelInfo::from_gguf(file);
    if (opts->json) {
      print_json(info);
    } else {
      print_text(info);
    }
  });
}

static const CommandRegistration kRegisterInfo(register_info);

}  // namespace ma::cli
