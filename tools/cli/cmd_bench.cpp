// `metal-attention bench`: prompt-processing and generation throughput, mean
// and standard deviation over repetitions, like llama-bench (same JSON keys).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "cli_commands.h"
#include "model/model_info.h"
#include "model_options.h"

namespace ma::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int reps = 5;
  bool json = false;
};

struct Result {
  double avg_ts = 0, stddev_ts = 0, avg_ns = 0, stddev_ns = 0;
};

Result summarize(const std::vector<double>& seconds, int64_t n_tokens) {
  Result r;
  std::vector<double> ts;
  for (double s : seconds) ts.push_back(static_cast<double>(n_tokens) / s);
  auto mean_sd = [](const std::vector<double>& v, double& mean, double& sd) {
    mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    sd = 0;
    for (double x : v) sd += (x - mean) * (x - mean);
    sd = v.size() > 1 ? std::sqrt(sd / static_cast<double>(v.size() - 1)) : 0;
  };
  mean_sd(ts, r.avg_ts, r.stddev_ts);
  std::vector<double> ns;
  for (double s : seconds) ns.push_back(s * 1e9);
  mean_sd(ns, r.avg_ns, r.stddev_ns);
  return r;
}

// Each test runs in a session of its own, whose context (without -c) is
// the test's tokens, as llama-bench sizes its contexts (n_prompt + n_gen):
// the decode kernels' key splits follow the cache's size.
void run(const BenchOptions& o) {
  const LoadedModel loaded = load_timed(o.model);
  const Model& model = *loaded.model;
  const ModelInfo info = ModelInfo::from_gguf(model.file());
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(model.hparams().n_vocab) - 1);
  std::vector<int32_t> tokens(static_cast<size_t>(std::max(o.n_prompt, o.n_gen)));
  for (auto& t : tokens) t = dist(rng);

  struct Test {
    const char* name;
    int64_t n_prompt, n_gen;
  };
  std::vector<Test> tests;
  if (o.n_prompt > 0) tests.push_back({"pp", o.n_prompt, 0});
  if (o.n_gen > 0) tests.push_back({"tg", 0, o.n_gen});
  if (!o.json) {
    std::printf("| model | size | params | backend | threads | test | t/s |\n");
    std::printf("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
  }
  for (const Test& t : tests) {
    SessionOptions so = o.model.session_options();
    if (so.n_ctx == 0) so.n_ctx = t.n_prompt + t.n_gen;
    Session session(model, so);
    const bool gpu = session.device() == Device::kCuda;
    const std::string backend = gpu ? "CUDA" : "CPU";
    auto time_it = [&](auto&& body) {
      session.reset();
      const auto t0 = std::chrono::steady_clock::now();
      body();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    auto prompt = [&] { session.prefill({tokens.data(), static_cast<size_t>(t.n_prompt)}); };
    auto gen = [&] {
      for (int64_t i = 0; i < t.n_gen; ++i) session.decode(tokens[static_cast<size_t>(i)]);
    };
    const bool is_pp = t.n_prompt > 0;
    const std::function<void()> body = is_pp ? std::function<void()>(prompt) : gen;
    time_it(body);  // warm-up
    std::vector<double> secs;
    for (int r = 0; r < o.reps; ++r) secs.push_back(time_it(body));
    const Result res = summarize(secs, is_pp ? t.n_prompt : t.n_gen);
    const std::string test_name =
        std::string(t.name) + std::to_string(is_pp ? t.n_prompt : t.n_gen);
    if (o.json) {
      nlohmann::json j{{"model_filename", o.model.model},
                       {"model_type", info.architecture},
                       {"model_size", info.weight_bytes},
                       {"model_n_params", info.n_params},
                       {"backend", backend},
                       {"gpu_info", gpu ? cuda_device_name() : ""},
                       {"n_threads", session.n_threads()},
                       {"n_batch", 512},
                       {"n_ctx", so.n_ctx},
                       {"type_k", o.model.kv_type},
                       {"n_prompt", t.n_prompt},
                       {"n_gen", t.n_gen},
                       {"test", test_name},
                       {"avg_ns", res.avg_ns},
                       {"stddev_ns", res.stddev_ns},
                       {"avg_ts", res.avg_ts},
                       {"stddev_ts", res.stddev_ts},
                       {"samples_ts", nlohmann::json::array()}};
      for (double s : secs)
        j["samples_ts"].push_back(static_cast<double>(is_pp ? t.n_prompt : t.n_gen) / s);
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("| %s | %.2f MiB | %.2f M | %s | %d | %s | %.2f ± %.2f |\n",
                  info.architecture.c_str(), static_cast<double>(info.weight_bytes) / (1 << 20),
                  static_cast<double>(info.n_params) / 1e6, backend.c_str(), session.n_threads(),
                  test_name.c_str(), res.avg_ts, res.stddev_ts);
    }
    std::fflush(stdout);
  }
}

void register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt and generation tokens/s");
  o->model.add_to(cmd);
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens (0: skip)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--n-gen", o->n_gen, "Generated tokens (0: skip)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-r,--repetitions", o->reps, "Repetitions")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o->json, "One JSON object per line per test (llama-bench keys)");
  cmd->callback([o] { run(*o); });
}

const CommandRegistration kRegisterBench(register_bench);

}  // namespace
}  // namespace ma::cli
