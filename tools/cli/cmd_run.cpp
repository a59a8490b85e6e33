// `metal-attention run`: generate text from a prompt, streaming to stdout;
// timings to stderr (or everything as JSON lines with --json).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "model_options.h"
#include "runtime/generate.h"

namespace ma::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  std::string prompt;
  int64_t n_predict = 128;
  uint64_t seed = kRandomSeed;
  SamplerParams sampling;
  std::vector<std::string> stop;
  bool json = false;
};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void run(const RunOptions& o) {
  const LoadedModel loaded = load_timed(o.model);
  const Model& model = *loaded.model;
  Session session(model, o.model.session_options());
  const std::vector<int32_t> prompt = model.tokenizer().encode(o.prompt, true);
  GenerateOptions g;
  g.n_predict = o.n_predict;
  g.sampling = o.sampling;
  g.sampling.seed = o.seed;
  g.stop = o.stop;
  if (!o.json) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  const GenerateStats s = generate(session, prompt, g, [&](std::string_view text) {
    if (o.json) {
      std::printf("%s\n", dump({{"type", "text"}, {"text", std::string(text)}}).c_str());
    } else {
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    std::fflush(stdout);
  });
  const double pp = s.prompt_seconds > 0 ? static_cast<double>(s.n_prompt) / s.prompt_seconds : 0;
  const double tg =
      s.generate_seconds > 0 ? static_cast<double>(s.n_generated) / s.generate_seconds : 0;
  if (o.json) {
    std::printf("%s\n", dump({{"type", "stats"},
                              {"load_seconds", loaded.seconds},
                              {"n_prompt", s.n_prompt},
                              {"n_generated", s.n_generated},
                              {"prompt_tokens_per_second", pp},
                              {"generation_tokens_per_second", tg},
                              {"stop_reason", s.stop_reason},
                              {"seed", s.seed},
                              {"n_threads", session.n_threads()}})
                            .c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr,
                 "load: %.3f s | prompt: %lld tokens, %.1f tok/s | generation: %lld tokens, %.1f "
                 "tok/s | stop: %s | seed: %llu | threads: %d\n",
                 loaded.seconds, static_cast<long long>(s.n_prompt), pp,
                 static_cast<long long>(s.n_generated), tg, s.stop_reason.c_str(),
                 static_cast<unsigned long long>(s.seed), session.n_threads());
  }
}

void register_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt");
  o->model.add_to(cmd);
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->required();
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate (-1: until end)");
  cmd->add_option("-s,--seed", o->seed, "Random seed (default: random)");
  cmd->add_option("--temp", o->sampling.temperature, "Temperature (0: greedy)")
      ->check(CLI::Range(0.0f, 100.0f));
  cmd->add_option("--top-k", o->sampling.top_k, "Top-k (0: off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", o->sampling.top_p, "Top-p (1: off)")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--min-p", o->sampling.min_p, "Min-p (0: off)")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--repeat-penalty", o->sampling.repeat_penalty, "Repetition penalty (1: off)");
  cmd->add_option("--frequency-penalty", o->sampling.frequency_penalty, "Frequency penalty");
  cmd->add_option("--presence-penalty", o->sampling.presence_penalty, "Presence penalty");
  cmd->add_option("--repeat-last-n", o->sampling.penalty_last_n, "Penalty window in tokens")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--stop", o->stop, "Stop string (repeatable)");
  cmd->add_flag("--json", o->json, "Write JSON lines instead of text");
  cmd->callback([o] { run(*o); });
}

const CommandRegistration kRegisterRun(register_run);

}  // namespace
}  // namespace ma::cli
