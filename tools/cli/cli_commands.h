// Each subcommand lives in its own cmd_<name>.cpp and registers itself with
// one static CommandRegistration, so adding a command touches one file.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace ma::cli {

using RegisterFn = void (*)(CLI::App& app);

// Commands in registration order (static initialisation within this binary).
std::vector<RegisterFn>& command_registry();

struct CommandRegistration {
  explicit CommandRegistration(RegisterFn fn) { command_registry().push_back(fn); }
};

}  // namespace ma::cli
