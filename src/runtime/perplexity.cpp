#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ma {

PerplexityResult perplexity(Session& session, const std::vector<int32_t>& tokens, int64_t n_ctx,
                            const std::function<void(int64_t, double)>& on_chunk) {
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  if (n_ctx < 4) throw Error("perplexity: the context must be at least 4 tokens");
  if (n_tokens < 2 * n_ctx) {
    throw Error("perplexity: the text has " + std::to_string(n_tokens) + " tokens; at least " +
                std::to_string(2 * n_ctx) + " are needed for a context of " +
                std::to_string(n_ctx));
  }
  if (n_ctx > session.n_ctx()) {
    throw Error("perplexity: window of " + std::to_string(n_ctx) +
                " tokens exceeds the session context of " + std::to_string(session.n_ctx()));
  }
  const Model& model = session.model();
  const int64_t vocab = model.hparams().n_vocab;
  // Like llama.cpp, a window starts with BOS only where the vocabulary adds one
  // (RWKV's names a BOS id but never adds it).
  const Tokenizer& tok = model.tokenizer();
  const int32_t bos = tok.vocab().add_bos ? tok.bos() : -1;
  PerplexityResult r;
  r.n_chunks = n_tokens / n_ctx;
  std::vector<float> logits(static_cast<size_t>(n_ctx * vocab));
  std::vector<int32_t> window(static_cast<size_t>(n_ctx));
  double nll = 0, nll2 = 0;
  const int64_t first = n_ctx / 2;
  for (int64_t c = 0; c < r.n_chunks; ++c) {
    const int64_t start = c * n_ctx;
    std::copy(tokens.begin() + start, tokens.begin() + start + n_ctx, window.begin());
    if (bos >= 0) window[0] = bos;
    session.reset();
    session.prefill_all(window, logits.data());
    // Logits at j predict the original token at j + 1.
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* l = logits.data() + j * vocab;
      const float mx = *std::max_element(l, l + vocab);
      double sum = 0;
      for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(l[v] - mx));
      const int32_t target = tokens[static_cast<size_t>(start + j + 1)];
      const double lp = static_cast<double>(l[target] - mx) - std::log(sum);
      nll -= lp;
      nll2 += lp * lp;
      ++r.n_scored;
    }
    const double running = std::exp(nll / static_cast<double>(r.n_scored));
    r.running_ppl.push_back(running);
    if (on_chunk) on_chunk(c, running);
  }
  const double count = static_cast<double>(r.n_scored);
  const double mean = nll / count;
  r.ppl = std::exp(mean);
  const double var = nll2 / count - mean * mean;
  r.ppl_error = count > 1 ? std::sqrt(std::max(0.0, var) / (count - 1)) * r.ppl : 0;
  return r;
}

}  // namespace ma
