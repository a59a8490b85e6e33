// `metal-attention synth --arch llama --preset 1b|7b|8b --type T -o FILE`:
// a model file with real shapes and random weights, for benchmarks.
#include <memory>
#include <string>

#include "cli_commands.h"
#include "convert/file_type.h"
#include "convert/synth.h"

namespace ma::cli {

void register_synth(CLI::App& app) {
  auto opts = std::make_shared<convert::SynthOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write a GGUF with a real model's shapes and random weights (for benchmarks)");
  cmd->add_option("--arch", opts->arch, "Architecture (llama)");
  cmd->add_option("--preset", opts->preset, "Shapes: " + convert::synth_preset_names())->required();
  cmd->add_option("--type", opts->type,
                  "Tensor type: " + convert::file_type_names() + " (default f16)");
  cmd->add_option("-o,--output", opts->out_path, "GGUF file to write");
  cmd->add_option("--vocab-from", opts->vocab_from,
                  "Copy the tokenizer from this GGUF (default: a synthetic byte-level vocabulary)");
  cmd->add_option("--seed", opts->seed, "Random seed (default 1)");
  cmd->add_option("--layers", opts->layers, "Override the preset's layer count");
  cmd->add_flag("--dry-run", opts->dry_run, "Print metadata and tensor shapes, write nothing");
  cmd->add_flag("-q,--quiet", *quiet, "No per-tensor progress on stderr");
  cmd->callback([opts, quiet] {
    opts->progress = !*quiet;
    convert::synth_model(*opts);
  });
}

static const CommandRegistration kRegisterSynth(register_synth);

}  // namespace ma::cli
