// The table of Hugging Face architectures `convert` understands. Each entry
// lives in its own arch_<name>.cpp and knows its hyperparameter keys and
// tensor names; adding an architecture is one file plus one line in
// arch_table.cpp. Nothing else in the converter depends on the architecture.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convert/gguf_stream_writer.h"
#include "convert/hf_model.h"

namespace ma::convert {

struct TensorPlan {
  std::string gguf_name;
  // Maps an output row to the source row it comes from (e.g. the RoPE
  // permutation of q/k); empty keeps the order.
  std::function<uint64_t(uint64_t)> source_row;
  // Applied to every value (e.g. Mamba's A_log -> -exp(A_log)); null copies.
  float (*value)(float) = nullptr;
  bool squeeze = false;         // drop dimensions of size 1 (a conv1d weight {K, 1, C})
  std::vector<uint64_t> shape;  // ggml order; when set, replaces the source's (same count)
  bool force_f32 = false;       // stays F32 whatever the file type (llama.cpp keeps these F32)
  // Stacking (MoE experts): sources with the same gguf_name become one tensor
  // with a new outermost dimension of stack_count; this one is slice stack_index.
  uint32_t stack_index = 0;
  uint32_t stack_count = 0;  // 0: not stacked
};

// A tensor the converter computes rather than copies (e.g. llama3 rope factors).
struct ExtraTensor {
  std::string name;
  std::vector<uint64_t> shape;  // ggml order
  std::vector<float> data;
};

struct ArchConverter {
  std::string_view gguf_arch;                // general.architecture
  std::vector<std::string_view> hf_classes;  // config.json "architectures"
  // Writes "<arch>.*" hyperparameters from config.json.
  void (*add_hparams)(const HfModel& model, GgufStreamWriter& w);
  // GGUF name and row order of an HF tensor; nullopt skips it (e.g. cached
  // rotary tables); a name the architecture does not know throws.
  std::optional<TensorPlan> (*map_tensor)(const HfModel& model, const std::string& hf_name);
  // Computed tensors; may be null.
  std::vector<ExtraTensor> (*extra_tensors)(const HfModel& model);
};

// The converter for a config.json architecture class; unknown ones throw,
// naming the class and the supported ones.
const ArchConverter& find_arch_converter(std::string_view hf_class);

// The entries (defined in their own files).
const ArchConverter& llama_arch_converter();
const ArchConverter& jamba_arch_converter();
const ArchConverter& mamba_arch_converter();
const ArchConverter& mamba2_arch_converter();
const ArchConverter& recurrent_gemma_arch_converter();
const ArchConverter& rwkv7_arch_converter();
const ArchConverter& zamba2_arch_converter();

}  // namespace ma::convert
