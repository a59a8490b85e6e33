#include "runtime/generate.h"

#include <chrono>

#include "core/error.h"
#include "runtime/stop_strings.h"
#include "tokenizer/stream_detokenizer.h"

namespace ma {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

GenerateStats generate(Session& session, const std::vector<int32_t>& prompt,
                       const GenerateOptions& options,
                       const std::function<void(std::string_view)>& on_text) {
  if (prompt.empty()) throw Error("the prompt is empty (no tokens to start from)");
  const Model& model = session.model();
  const Tokenizer& tok = model.tokenizer();
  Sampler sampler(options.sampling, static_cast<int32_t>(model.hparams().n_vocab));
  for (int32_t t : prompt) sampler.accept(t);
  StreamDetokenizer detok(tok, false);
  StopStrings stops(options.stop);

  GenerateStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt.size());
  stats.seed = sampler.seed();
  const int64_t n_vocab = model.hparams().n_vocab;

  // Greedy decoding on a device takes the argmax where the logits are.
  const bool device_argmax = session.device() != Device::kCpu && sampler.plain_argmax();

  auto t0 = std::chrono::steady_clock::now();
  const float* logits = session.prefill(prompt);
  stats.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  stats.stop_reason = "length";
  int32_t next = -1;  // the device's greedy token, when it chose one
  while (options.n_predict < 0 || stats.n_generated < options.n_predict) {
    const int32_t token = next >= 0 ? next : sampler.sample({logits, static_cast<size_t>(n_vocab)});
    if (tok.is_eog(token)) {
      stats.stop_reason = "eog";
      break;
    }
    sampler.accept(token);
    ++stats.n_generated;
    const StopResult r = stops.feed(detok.push(token));
    if (!r.text.empty()) on_text(r.text);
    if (r.stopped) {
      stats.stop_reason = "stop";
      break;
    }
    if (session.n_past() >= session.n_ctx()) {
      stats.stop_reason = "context";
      break;
    }
    if (options.n_predict >= 0 && stats.n_generated >= options.n_predict) break;
    if (device_argmax) {
      next = session.decode_greedy(token);
    } else {
      logits = session.decode(token);
    }
  }
  if (stats.stop_reason != "stop") {
    const StopResult tail = stops.feed(detok.flush());
    std::string rest = tail.text;
    if (!tail.stopped) rest += stops.flush();
    if (!rest.empty()) on_text(rest);
  }
  stats.generate_seconds = seconds_since(t0);
  return stats;
}

}  // namespace ma
