// `metal-attention synth`: a GGUF with the real shapes of a known model and
// random weights (N(0, 0.02) matrices, norms near 1), for benchmarks and
// load tests without downloading anything. Tensors are generated and encoded
// row by row and streamed, so a 7B file needs memory for one chunk only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ma::convert {

struct SynthPreset {
  const char* name;
  uint32_t n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
  float rope_base, rms_eps;
  bool tied;            // no output.weight
  float llama3_factor;  // > 0: Llama 3.1 RoPE scaling (rope_freqs.weight)
  bool hidden;          // test-sized, not advertised
};

const std::vector<SynthPreset>& synth_presets();
// Names of the advertised presets, comma-separated.
std::string synth_preset_names();

struct SynthOptions {
  std::string arch = "llama";
  std::string preset;
  std::string type = "f16";
  std::string out_path;
  std::string vocab_from;  // GGUF whose tokenizer.* keys are copied
  uint64_t seed = 1;
  int layers = -1;       // overrides the preset's layer count when >= 1
  bool dry_run = false;  // print the plan to stdout, write nothing
  bool progress = true;
};

// Returns the number of tensors (written, or planned for a dry run).
size_t synth_model(const SynthOptions& opts);

}  // namespace ma::convert
