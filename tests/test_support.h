// Helpers shared by the tests: where the shared models live, and how a test
// that needs them behaves when they are absent (skip locally, fail in CI).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ma::test {

inline std::filesystem::path source_dir() {
  return std::filesystem::path(MA_SOURCE_DIR);
}

// ../shared beside the clone, or $MA_SHARED_DIR.
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("MA_SHARED_DIR")) return env;
  return source_dir().parent_path() / "shared";
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

inline std::string cli_path() {
  return MA_CLI_PATH;
}

}  // namespace ma::test

// Resolves a path under ../shared into `var`; when missing, skips the test
// (or fails it under CI=true, where the shared data must be present).
#define MA_REQUIRE_SHARED(var, relative)                                       \
  const std::filesystem::path var = ::ma::test::shared_dir() / (relative);     \
  if (!std::filesystem::exists(var)) {                                         \
    if (::ma::test::running_in_ci()) FAIL() << "shared data missing: " << var; \
    GTEST_SKIP() << "shared data missing (set MA_SHARED_DIR): " << var;        \
  }
