// `metal-attention perplexity -m FILE -f TEXT [-c CTX]`: llama-perplexity's
// method and output format, so the two tools' numbers can be compared.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli_commands.h"
#include "model_options.h"
#include "runtime/perplexity.h"

namespace ma::cli {
namespace {

struct PerplexityOptions {
  ModelOptions model;
  std::string file;
  int64_t window = 512;
};

void run(const PerplexityOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) throw Error(o.file + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  const LoadedModel loaded = load_timed(o.model);
  const Model& model = *loaded.model;
  const std::vector<int32_t> tokens = model.tokenizer().encode(text.str(), true);
  SessionOptions so = o.model.session_options();
  so.n_ctx = o.window;
  Session session(model, so);
  std::fprintf(stderr, "perplexity: %zu tokens, %lld chunks of %lld\n", tokens.size(),
               static_cast<long long>(static_cast<int64_t>(tokens.size()) / o.window),
               static_cast<long long>(o.window));
  const PerplexityResult r = perplexity(session, tokens, o.window, [](int64_t i, double ppl) {
    std::printf("[%lld]%.4f,", static_cast<long long>(i + 1), ppl);
    std::fflush(stdout);
  });
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_error);
}

void register_perplexity(CLI::App& app) {
  auto o = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a text file (llama.cpp method)");
  o->model.add_to(cmd, false);
  cmd->add_option("-f,--file", o->file, "Text file")->required();
  cmd->add_option("-c,--ctx-size", o->window, "Window size in tokens")
      ->check(CLI::Range(4, 1 << 20));
  cmd->callback([o] { run(*o); });
}

const CommandRegistration kRegisterPerplexity(register_perplexity);

}  // namespace
}  // namespace ma::cli
