// Token sampler: turns one step's logits into a token id, following the order
// of llama.cpp's default chain (penalties -> top-k -> top-p -> min-p ->
// temperature -> dist) so that the same settings mean the same thing here.
// Allocation-free per call: every buffer is sized to the vocabulary up front.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace ma {

// SamplerParams::seed value meaning "seed from the clock" (llama.cpp's
// LLAMA_DEFAULT_SEED); any other value gives a repeatable sequence.
inline constexpr uint64_t kRandomSeed = 0xFFFFFFFFu;

struct SamplerParams {
  float temperature = 0.8f;        // <= 0: greedy argmax (only exactly 0 is valid)
  int top_k = 40;                  // 0: disabled
  float top_p = 0.95f;             // 1: disabled
  float min_p = 0.05f;             // 0: disabled
  float repeat_penalty = 1.0f;     // 1: disabled; llama.cpp: divide positive, multiply negative
  float frequency_penalty = 0.0f;  // OpenAI: logit -= count * frequency_penalty
  float presence_penalty = 0.0f;   // OpenAI: logit -= (count > 0) * presence_penalty
  int penalty_last_n = 64;         // window of accepted tokens the penalties see; 0: none
  uint64_t seed = kRandomSeed;
};

class Sampler {
 public:
  // Throws ma::Error naming the first invalid parameter.
  explicit Sampler(SamplerParams params, int32_t vocab_size);

  // One token from `logits` (exactly vocab_size values). NaN counts as -inf,
  // +inf as the largest finite float. Throws ma::Error if the size is wrong or
  // no token has a finite logit. Does not record the token: call accept().
  int32_t sample(std::span<const float> logits);

  // Adds `token` to the penalty history (the last penalty_last_n tokens).
  void accept(int32_t token);

  // Clears the history and reseeds: a fixed seed restarts its sequence, the
  // random seed draws a new one (as llama.cpp's dist sampler does).
  void reset();

  const SamplerParams& params() const { return params_; }
  // Whether sample() is the plain argmax of the logits (greedy, no
  // penalties), which a device can take without copying the logits out.
  bool plain_argmax() const {
    const bool penalties = params_.penalty_last_n != 0 &&
                           (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                            params_.presence_penalty != 0.0f);
    return params_.temperature <= 0.0f && !penalties;
  }
  int32_t vocab_size() const { return vocab_size_; }
  // The seed actually in use; log it to reproduce a run made with kRandomSeed.
  uint64_t seed() const { return seed_cur_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float weight;  // scratch: exp(logit - max) for top-p and dist
  };

  size_t fill_candidates(std::span<const float> logits);
  size_t apply_top_p(size_t n, bool& sorted);
  size_t apply_min_p(size_t n, bool sorted);
  int32_t draw(size_t n);

  SamplerParams params_;
  int32_t vocab_size_;
  uint64_t seed_cur_ = 0;
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;   // vocab_size entries, reused every call
  std::vector<int32_t> counts_;   // per-token occurrences inside the window
  std::vector<int32_t> history_;  // ring buffer of the last penalty_last_n tokens
  size_t hist_head_ = 0;          // next slot to write
  size_t hist_size_ = 0;
};

}  // namespace ma
