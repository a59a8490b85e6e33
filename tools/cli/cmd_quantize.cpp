// `metal-attention quantize IN.gguf OUT.gguf TYPE`: re-encode a model's
// weights (plain types or llama.cpp-style mixes such as q4_k_m).
#include <memory>
#include <string>

#include "cli_commands.h"
#include "convert/file_type.h"
#include "convert/requantize.h"

namespace ma::cli {

void register_quantize(CLI::App& app) {
  auto opts = std::make_shared<convert::QuantizeOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd =
      app.add_subcommand("quantize", "Re-encode a GGUF model's weights to another type");
  cmd->add_option("input", opts->in_path, "GGUF file to read")->required();
  cmd->add_option("output", opts->out_path, "GGUF file to write")->required();
  cmd->add_option("type", opts->type, "One of: " + convert::file_type_names())->required();
  cmd->add_flag("-q,--quiet", *quiet, "No per-tensor progress on stderr");
  cmd->callback([opts, quiet] {
    opts->progress = !*quiet;
    convert::quantize_gguf(*opts);
  });
}

static const CommandRegistration kRegisterQuantize(register_quantize);

}  // namespace ma::cli
