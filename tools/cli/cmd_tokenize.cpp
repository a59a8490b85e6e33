// `metal-attention tokenize -m FILE (-p TEXT | -f FILE) [--ids | --json]
// [--no-bos] [--plain] [--time]`: show how a model's tokenizer splits text.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_commands.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace ma::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  std::string file;
  bool ids = false;
  bool json = false;
  bool no_bos = false;
  bool plain = false;
  bool time = false;
};

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Quotes a piece for one terminal line: control bytes and bytes that are not
// part of a valid UTF-8 character become escapes.
std::string quote(const std::string& bytes) {
  const std::string valid = tok::sanitize_utf8(bytes);
  const bool broken = valid != bytes;
  std::string out = "'";
  for (unsigned char c : bytes) {
    char buf[8];
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      default:
        if (c < 0x20 || c == 0x7F || (broken && c >= 0x80)) {
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "'";
}

void run_tokenize(const TokenizeOptions& o) {
  const std::string text = o.file.empty() ? o.prompt : read_file_bytes(o.file);
  const gguf::File file = gguf::File::open(o.model);
  const auto tokenizer = Tokenizer::from_gguf(file);

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer->encode(text, !o.no_bos, !o.plain);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (o.json) {
    nlohmann::json j;
    j["ids"] = ids;
    auto& toks = j["tokens"] = nlohmann::json::array();
    for (int32_t id : ids) toks.push_back({{"id", id}, {"piece", tokenizer->token_to_piece(id)}});
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (o.ids) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
  } else {
    for (int32_t id : ids)
      std::printf("%6d %s\n", id, quote(tokenizer->token_to_piece(id)).c_str());
  }
  if (o.time) {
    std::fprintf(stderr, "tokenized %zu bytes into %zu tokens in %.3f s (%.2f MB/s)\n", text.size(),
                 ids.size(), secs, secs > 0 ? text.size() / secs / 1e6 : 0.0);
  }
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand("tokenize", "Split text into the model's tokens");
  sub->add_option("-m,--model", opts->model, "GGUF file (only its tokenizer is read)")->required();
  auto* p = sub->add_option("-p,--prompt", opts->prompt, "Text to tokenize");
  auto* f = sub->add_option("-f,--file", opts->file, "Read the text from FILE, byte for byte");
  p->excludes(f);
  sub->add_flag("--ids", opts->ids, "Print only the ids, space separated, on one line");
  sub->add_flag("--json", opts->json, "Print ids and pieces as JSON");
  sub->add_flag("--no-bos", opts->no_bos, "Add no BOS/EOS tokens");
  sub->add_flag("--plain", opts->plain, "Treat special-token text as ordinary text");
  sub->add_flag("--time", opts->time, "Report the encoding time on stderr");
  sub->callback([opts, p, f] {
    if (p->count() == 0 && f->count() == 0)
      throw Error("tokenize: give the text with -p TEXT or -f FILE");
    run_tokenize(*opts);
  });
}

static const CommandRegistration kRegisterTokenize(register_tokenize);

}  // namespace ma::cli
