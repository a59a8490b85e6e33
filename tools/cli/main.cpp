// metal-attention: one binary, one subcommand per job.
#include <cstdio>
#include <exception>

#include "cli_commands.h"
#include "core/error.h"

namespace ma::cli {

std::vector<RegisterFn>& command_registry() {
  static std::vector<RegisterFn> commands;
  return commands;
}

}  // namespace ma::cli

int main(int argc, char** argv) {
  CLI::App app{"metal-attention: an inference engine for hybrid language models"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  for (ma::cli::RegisterFn fn : ma::cli::command_registry()) fn(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
