// Options every model-running subcommand shares (-m, -t, -c, --kv-type) and
// the loading step that reports its time.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/error.h"
#include "model/arch_registry.h"
#include "runtime/session.h"

namespace ma::cli {

struct ModelOptions {
  std::string model;
  int threads = 0;
  int64_t ctx = 0;
  std::string kv_type = "f16";
  std::string device = "cpu";
  bool no_mmap = false;
  bool no_repack = false;

  void add_to(CLI::App* cmd, bool with_ctx = true) {
    cmd->add_option("-m,--model", model, "GGUF model file")->required();
    cmd->add_option("-t,--threads", threads, "CPU threads (0: all)")->check(CLI::NonNegativeNumber);
    if (with_ctx) {
      cmd->add_option("-c,--ctx-size", ctx, "Context size in tokens (0: model's, at most 4096)")
          ->check(CLI::NonNegativeNumber);
    }
    cmd->add_option("--kv-type", kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}));
    cmd->add_option("--device", device, "Where to run: cpu, or cuda (an NVIDIA GPU)")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    cmd->add_flag("--no-mmap", no_mmap,
                  "Copy the weights into huge-page memory instead of using the file mapping "
                  "(slower load, faster generation)");
    cmd->add_flag("--no-repack", no_repack,
                  "Keep Q4_0 weights in the file's layout (no copy at all; slower on the CPU)");
  }

  SessionOptions session_options() const {
    SessionOptions s;
    s.n_ctx = ctx;
    s.n_threads = threads;
    s.kv_type = kv_type == "f32" ? KvType::kF32 : KvType::kF16;
    s.device = parse_device(device);
    return s;
  }
};

struct LoadedModel {
  std::unique_ptr<Model> model;
  double seconds = 0;
};

inline LoadedModel load_timed(const ModelOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel m;
  LoadOptions lo;
  lo.mode = opts.no_mmap ? LoadMode::kCopyToAnonymous : LoadMode::kMmap;
  // The CPU's interleaved Q4_0 copy is of no use to a GPU, which uploads the file's rows.
  lo.repack = !opts.no_repack && opts.device == "cpu";
  m.model = load_model(opts.model, lo);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

}  // namespace ma::cli
