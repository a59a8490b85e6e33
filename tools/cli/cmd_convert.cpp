// `metal-attention convert HF_DIR -o OUT.gguf [--type T]`: Hugging Face
// safetensors folder -> GGUF (llama.cpp names and metadata).
#include <cstdio>
#include <memory>
#include <string>

#include "cli_commands.h"
#include "convert/converter.h"
#include "convert/file_type.h"

namespace ma::cli {

void register_convert(CLI::App& app) {
  auto opts = std::make_shared<convert::ConvertOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert a Hugging Face model folder (safetensors + tokenizer.json) to GGUF");
  cmd->add_option("hf_dir", opts->hf_dir, "Folder with config.json, *.safetensors, tokenizer.json")
      ->required();
  cmd->add_option("-o,--output", opts->out_path, "GGUF file to write")->required();
  cmd->add_option("--type", opts->type,
                  "Tensor type: " + convert::file_type_names() + " (default f16)");
  cmd->add_option("--name", opts->name, "general.name (default: the folder name)");
  cmd->add_flag("-q,--quiet", *quiet, "No per-tensor progress on stderr");
  cmd->callback([opts, quiet] {
    opts->progress = !*quiet;
    const auto r = convert::convert_hf_to_gguf(*opts);
    std::fprintf(stderr, "convert: wrote %s (%zu tensors, %llu tokens)\n", opts->out_path.c_str(),
                 r.n_tensors, static_cast<unsigned long long>(r.n_tokens));
  });
}

static const CommandRegistration kRegisterConvert(register_convert);

}  // namespace ma::cli
