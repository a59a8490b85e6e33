// metal-attention: one binary, one subcommand per job.
#include <cstdio>
#include <exception>

#include "cli_commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"metal-attention: an inference engine for hybrid language models"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  ma::cli::register_info(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ma::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
