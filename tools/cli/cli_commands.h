// Each subcommand lives in its own file and registers itself on the app.
#pragma once

#include <CLI/CLI.hpp>

namespace ma::cli {

void register_info(CLI::App& app);

}  // namespace ma::cli
