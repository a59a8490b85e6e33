// `metal-attention logits`: the logits of every position as raw little-endian
// float32 [positions x vocabulary], computed in one batch (prefill) or one
// token at a time (decode). Parity checks against other engines use this.
#include <cstdio>
#include <sstream>

#include "cli_commands.h"
#include "model_options.h"

namespace ma::cli {
namespace {

struct LogitsOptions {
  ModelOptions model;
  std::string ids;
  std::string prompt;
  std::string mode = "prefill";
  std::string out;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || v < 0 || v > INT32_MAX) {
      throw Error("--ids: '" + word + "' is not a token id");
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) throw Error("--ids: no token ids given");
  return ids;
}

void run(const LogitsOptions& o) {
  const LoadedModel loaded = load_timed(o.model);
  const Model& model = *loaded.model;
  const std::vector<int32_t> ids =
      o.ids.empty() ? model.tokenizer().encode(o.prompt, true) : parse_ids(o.ids);
  if (ids.empty()) throw Error("the prompt gives no tokens");
  const int64_t vocab = model.hparams().n_vocab;
  for (int32_t id : ids) {
    if (id >= vocab) {
      throw Error("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                  std::to_string(vocab) + ")");
    }
  }
  SessionOptions so = o.model.session_options();
  if (so.n_ctx == 0) so.n_ctx = std::max<int64_t>(static_cast<int64_t>(ids.size()), 16);
  Session session(model, so);
  std::vector<float> logits(ids.size() * static_cast<size_t>(vocab));
  if (o.mode == "prefill") {
    session.prefill_all(ids, logits.data());
  } else {
    for (size_t i = 0; i < ids.size(); ++i) {
      const float* l = session.decode(ids[i]);
      std::copy(l, l + vocab, logits.begin() + static_cast<long>(i * static_cast<size_t>(vocab)));
    }
  }
  const std::string tmp = o.out + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw Error(o.out + ": cannot create");
  const bool ok = std::fwrite(logits.data(), sizeof(float), logits.size(), f) == logits.size();
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), o.out.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(o.out + ": write failed");
  }
  std::fprintf(stderr, "wrote %zu x %lld logits (%s) to %s\n", ids.size(),
               static_cast<long long>(vocab), o.mode.c_str(), o.out.c_str());
}

void register_logits(CLI::App& app) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand("logits", "Write the logits of every position (float32)");
  o->model.add_to(cmd);
  auto* ids = cmd->add_option("--ids", o->ids, "Token ids, e.g. \"1 2 3\"");
  auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "Text (tokenized with BOS)");
  ids->excludes(prompt);
  cmd->add_option("--mode", o->mode, "prefill: one batch; decode: one token at a time")
      ->check(CLI::IsMember({"prefill", "decode"}));
  cmd->add_option("-o,--output", o->out, "Output file")->required();
  cmd->callback([o, ids, prompt] {
    if (ids->count() == 0 && prompt->count() == 0) throw Error("give --ids or -p");
    run(*o);
  });
}

const CommandRegistration kRegisterLogits(register_logits);

}  // namespace
}  // namespace ma::cli
