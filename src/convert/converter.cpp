#include "convert/converter.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "convert/arch_table.h"
#include "convert/file_type.h"
#include "convert/hf_vocab.h"
#include "convert/row_encoder.h"
#include "core/error.h"

namespace ma::convert {
namespace {

namespace fs = std::filesystem;
using gguf::Value;

struct Job {
  std::string name;
  std::vector<uint64_t> shape;  // ggml order
  GgmlType type = GgmlType::F32;
  const StTensor* source = nullptr;  // or:
  const ExtraTensor* extra = nullptr;
  std::function<uint64_t(uint64_t)> source_row;
  float (*value)(float) = nullptr;
  bool force_f32 = false;
  std::vector<float> reshaped;         // the whole source, when its rows differ from the output's
  std::vector<const StTensor*> stack;  // stacked sources (MoE experts), in order
};

// token_embd first, then blocks by layer, then output_norm / output.
std::tuple<int, long, std::string> order_key(const std::string& name) {
  long layer = -1;
  if (std::sscanf(name.c_str(), "blk.%ld.", &layer) == 1) return {1, layer, name};
  return {name.starts_with("output") ? 2 : 0, 0, name};
}

// A scalar key, or the largest value of a per-layer array (Jamba's head_count_kv).
uint64_t meta_u32(const GgufStreamWriter& w, const std::string& key, uint64_t fallback) {
  const Value* v = w.find(key);
  if (v == nullptr) return fallback;
  if (v->type != gguf::ValueType::ARRAY) return v->as_uint(key);
  uint64_t largest = 0;
  for (const Value& item : v->as_array(key).items) largest = std::max(largest, item.as_uint(key));
  return largest;
}

// Puts `t` into the stacked job named by `plan`, creating the job with the
// first part; every part must have the same shape and dtype.
void add_to_stack(std::vector<Job>& jobs, std::map<std::string, size_t>& stacked,
                  const TensorPlan& plan, const std::string& hf_name, const StTensor* t) {
  auto [it, created] = stacked.try_emplace(plan.gguf_name, jobs.size());
  if (created) {
    Job job;
    job.name = plan.gguf_name;
    job.shape.assign(t->shape.rbegin(), t->shape.rend());
    job.shape.push_back(plan.stack_count);
    job.value = plan.value;
    job.force_f32 = plan.force_f32;
    job.stack.assign(plan.stack_count, nullptr);
    jobs.push_back(std::move(job));
  }
  Job& job = jobs[it->second];
  if (plan.stack_count != job.stack.size() || plan.stack_index >= job.stack.size() ||
      job.stack[plan.stack_index] != nullptr) {
    throw Error("tensor '" + hf_name + "': bad or repeated part " +
                std::to_string(plan.stack_index) + " of '" + plan.gguf_name + "'");
  }
  job.stack[plan.stack_index] = t;
  const StTensor* ref = nullptr;
  for (const StTensor* s : job.stack) {
    if (s != nullptr && s != t) ref = s;
  }
  if (ref != nullptr && (ref->shape != t->shape || ref->dtype != t->dtype)) {
    throw Error("tensor '" + hf_name + "' differs in shape or dtype from the other parts of '" +
                plan.gguf_name + "'");
  }
}

}  // namespace

void print_progress(const char* what, size_t i, size_t n, const std::string& name,
                    const std::string& type, const std::vector<uint64_t>& shape) {
  std::string dims;
  for (uint64_t d : shape) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
  std::fprintf(stderr, "%s [%*zu/%zu] %-32s %-6s %s\n", what,
               static_cast<int>(std::to_string(n).size()), i, n, name.c_str(), type.c_str(),
               dims.c_str());
}

ConvertResult convert_hf_to_gguf(const ConvertOptions& opts) {
  const FileType ft = parse_file_type(opts.type);
  const HfModel model = HfModel::open(opts.hf_dir);
  const ArchConverter& arch = find_arch_converter(model.hf_architecture());

  GgufStreamWriter w;
  std::string name = opts.name;
  if (name.empty()) {
    fs::path p = fs::path(opts.hf_dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();  // "dir/" -> "dir"
    name = p.filename().string();
  }
  w.set("general.architecture", Value::str(std::string(arch.gguf_arch)));
  w.set("general.name", Value::str(name));
  arch.add_hparams(model, w);
  w.set("general.file_type", Value::u32(ft.ftype));

  std::vector<Job> jobs;
  std::map<std::string, size_t> stacked;  // gguf name -> its job
  for (const auto& [hf_name, t] : model.tensors()) {
    std::optional<TensorPlan> plan = arch.map_tensor(model, hf_name);
    if (!plan) continue;
    if (plan->stack_count > 0) {
      add_to_stack(jobs, stacked, *plan, hf_name, t);
      continue;
    }
    Job job;
    job.name = plan->gguf_name;
    job.shape.assign(t->shape.rbegin(), t->shape.rend());
    if (plan->squeeze) std::erase(job.shape, uint64_t{1});
    if (job.shape.empty()) job.shape.push_back(1);
    job.source = t;
    job.source_row = std::move(plan->source_row);
    job.value = plan->value;
    job.force_f32 = plan->force_f32;
    if (!plan->shape.empty()) {
      uint64_t count = 1;
      for (uint64_t d : plan->shape) count *= d;
      if (count != t->n_elements) {
        throw Error("tensor '" + hf_name + "' cannot be reshaped for '" + job.name + "'");
      }
      job.shape = plan->shape;
      job.reshaped.resize(count);  // small tensors only (e.g. Mamba-2's A, D, norm)
      for (uint64_t r = 0; r < t->rows(); ++r) {
        t->row_to_f32(r, job.reshaped.data() + r * t->cols());
      }
    }
    jobs.push_back(std::move(job));
  }
  for (const auto& [name, index] : stacked) {
    const auto& stack = jobs[index].stack;
    const auto missing = std::find(stack.begin(), stack.end(), nullptr);
    if (missing != stack.end()) {
      throw Error("'" + name + "': stacked part " + std::to_string(missing - stack.begin()) +
                  " of " + std::to_string(stack.size()) + " is missing");
    }
  }
  const std::vector<ExtraTensor> extras =
      arch.extra_tensors ? arch.extra_tensors(model) : std::vector<ExtraTensor>{};
  for (const auto& e : extras) {
    jobs.push_back({e.name, e.shape, GgmlType::F32, nullptr, &e, {}, nullptr, true, {}, {}});
  }
  std::sort(jobs.begin(), jobs.end(),
            [](const Job& a, const Job& b) { return order_key(a.name) < order_key(b.name); });
  for (size_t i = 1; i < jobs.size(); ++i) {
    if (jobs[i].name == jobs[i - 1].name) throw Error("two tensors map to '" + jobs[i].name + "'");
  }

  const auto embd = std::find_if(jobs.begin(), jobs.end(),
                                 [](const Job& j) { return j.name == "token_embd.weight"; });
  if (embd == jobs.end() || embd->shape.size() != 2) {
    throw Error(opts.hf_dir + ": no 2-D token embedding tensor");
  }
  const bool tied = std::none_of(jobs.begin(), jobs.end(),
                                 [](const Job& j) { return j.name == "output.weight"; });
  ConvertResult result;
  result.n_tokens = add_hf_vocab(opts.hf_dir, embd->shape[1], w);

  const std::string a(arch.gguf_arch);
  const uint64_t n_head = meta_u32(w, a + ".attention.head_count", 1);
  const uint64_t n_head_kv = meta_u32(w, a + ".attention.head_count_kv", n_head);
  bool quantized = false;
  for (auto& job : jobs) {
    if (job.extra == nullptr) {
      TensorSlot slot{job.name, job.shape,
                      static_cast<uint32_t>(meta_u32(w, a + ".block_count", 0)),
                      static_cast<uint32_t>(n_head_kv == 0 ? 1 : n_head / n_head_kv), tied};
      job.type = job.force_f32 ? GgmlType::F32 : choose_tensor_type(ft, slot);
    }
    quantized = quantized || ggml_type_traits(job.type).block_size > 1;
  }
  if (quantized) w.set("general.quantization_version", Value::u32(2));
  for (const auto& job : jobs) w.declare_tensor(job.name, job.type, job.shape);

  w.begin(opts.out_path);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    if (opts.progress) {
      print_progress("convert", i + 1, jobs.size(), job.name, std::string(ggml_type_name(job.type)),
                     job.shape);
    }
    const uint64_t cols = job.shape[0];
    uint64_t rows = 1;
    for (size_t d = 1; d < job.shape.size(); ++d) rows *= job.shape[d];
    RowSource source;
    if (job.extra != nullptr) {
      source = [&job, cols](uint64_t r, float* out) {
        std::memcpy(out, job.extra->data.data() + r * cols, cols * sizeof(float));
      };
    } else {
      const uint64_t part_rows = job.stack.empty() ? 0 : rows / job.stack.size();
      source = [&job, cols, part_rows](uint64_t r, float* out) {
        if (!job.stack.empty()) {
          job.stack[r / part_rows]->row_to_f32(r % part_rows, out);
        } else if (!job.reshaped.empty()) {
          std::memcpy(out, job.reshaped.data() + r * cols, cols * sizeof(float));
        } else {
          job.source->row_to_f32(job.source_row ? job.source_row(r) : r, out);
        }
        if (job.value != nullptr) {
          for (uint64_t i = 0; i < cols; ++i) out[i] = job.value(out[i]);
        }
      };
    }
    encode_tensor(job.type, rows, cols, source, w);
  }
  w.finish();
  result.n_tensors = jobs.size();
  return result;
}

}  // namespace ma::convert
