#include "runtime/sampler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace ma {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kMaxFinite = std::numeric_limits<float>::max();

[[noreturn]] void bad_param(const std::string& name, float value, const char* rule) {
  throw Error("sampler: " + name + " = " + std::to_string(value) + " is invalid (" + rule + ")");
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t resolve_seed(uint64_t seed) {
  if (seed != kRandomSeed) return seed;
  // Clock plus random_device: the clock alone repeats for samplers made in
  // the same tick (e.g. one per request in a batch).
  const auto now =
      static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  std::random_device rd;
  return splitmix64(now ^ (static_cast<uint64_t>(rd()) << 32 | rd()));
}

// Highest logit first; equal logits by lowest id so every path is deterministic
// and top_k = 1 agrees with greedy on ties.
bool better(float la, int32_t ia, float lb, int32_t ib) {
  return la > lb || (la == lb && ia < ib);
}

}  // namespace

Sampler::Sampler(SamplerParams params, int32_t vocab_size)
    : params_(params), vocab_size_(vocab_size) {
  // Written as !(valid) so that NaN parameters are rejected too.
  if (vocab_size <= 0) throw Error("sampler: vocab_size must be positive");
  if (!(params.temperature >= 0.0f) || std::isinf(params.temperature))
    bad_param("temperature", params.temperature, "must be finite and >= 0; 0 means greedy");
  if (params.top_k < 0)
    throw Error("sampler: top_k = " + std::to_string(params.top_k) +
                " is invalid (must be >= 0; 0 disables it)");
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f))
    bad_param("top_p", params.top_p, "must be in (0, 1]; 1 disables it");
  if (!(params.min_p >= 0.0f && params.min_p <= 1.0f))
    bad_param("min_p", params.min_p, "must be in [0, 1]; 0 disables it");
  if (!(params.repeat_penalty > 0.0f) || std::isinf(params.repeat_penalty))
    bad_param("repeat_penalty", params.repeat_penalty, "must be finite and > 0; 1 disables it");
  if (!std::isfinite(params.frequency_penalty))
    bad_param("frequency_penalty", params.frequency_penalty, "must be finite");
  if (!std::isfinite(params.presence_penalty))
    bad_param("presence_penalty", params.presence_penalty, "must be finite");
  if (params.penalty_last_n < 0)
    throw Error("sampler: penalty_last_n = " + std::to_string(params.penalty_last_n) +
                " is invalid (must be >= 0; 0 disables the penalties)");

  cand_.resize(static_cast<size_t>(vocab_size));
  counts_.assign(static_cast<size_t>(vocab_size), 0);
  history_.assign(static_cast<size_t>(params.penalty_last_n), 0);
  reset();
}

void Sampler::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  hist_head_ = 0;
  hist_size_ = 0;
  seed_cur_ = resolve_seed(params_.seed);
  rng_.seed(seed_cur_);
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= vocab_size_)
    throw Error("sampler: accepted token " + std::to_string(token) +
                " is outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
  if (history_.empty()) return;
  // Ring buffer with counts kept in step, so sample() needs no per-call tally.
  if (hist_size_ == history_.size()) {
    --counts_[static_cast<size_t>(history_[hist_head_])];
  } else {
    ++hist_size_;
  }
  history_[hist_head_] = token;
  ++counts_[static_cast<size_t>(token)];
  hist_head_ = (hist_head_ + 1) % history_.size();
}

// Copies the usable logits into cand_ in id order, applying the penalties on
// the way (llama.cpp applies them first). Returns how many are usable.
size_t Sampler::fill_candidates(std::span<const float> logits) {
  const float rp = params_.repeat_penalty;
  const float fp = params_.frequency_penalty;
  const float pp = params_.presence_penalty;
  size_t n = 0;
  for (int32_t id = 0; id < vocab_size_; ++id) {
    float v = logits[static_cast<size_t>(id)];
    if (std::isnan(v) || v == kNegInf) continue;  // can never be chosen
    v = std::min(v, kMaxFinite);                  // +inf would turn softmax into NaN
    if (const int32_t c = counts_[static_cast<size_t>(id)]; c > 0) {
      v = v <= 0.0f ? v * rp : v / rp;
      v -= static_cast<float>(c) * fp + pp;
      if (std::isnan(v) || v == kNegInf) continue;
      v = std::min(v, kMaxFinite);
    }
    cand_[n++] = {id, v, 0.0f};
  }
  return n;
}

// Keeps the smallest highest-probability prefix whose mass reaches top_p.
size_t Sampler::apply_top_p(size_t n, bool& sorted) {
  const auto cmp = [](const Candidate& a, const Candidate& b) {
    return better(a.logit, a.id, b.logit, b.id);
  };
  if (!sorted) {
    std::sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(n), cmp);
    sorted = true;
  }
  const float max = cand_[0].logit;
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cand_[i].weight = std::exp(cand_[i].logit - max);
    total += cand_[i].weight;
  }
  const double target = static_cast<double>(params_.top_p) * total;
  double cum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cum += cand_[i].weight;
    if (cum >= target) return i + 1;
  }
  return n;  // rounding left the sum just short: keep everything
}

// Keeps tokens whose probability is at least min_p times the top one's,
// i.e. logit >= max + log(min_p); the top token always survives.
size_t Sampler::apply_min_p(size_t n, bool sorted) {
  const float log_p = std::log(params_.min_p);
  float max = cand_[0].logit;
  if (!sorted)
    for (size_t i = 1; i < n; ++i) max = std::max(max, cand_[i].logit);
  // Compare the difference so that max near FLT_MAX cannot overflow.
  const auto keep = [&](const Candidate& c) { return c.logit - max >= log_p; };
  if (sorted) {
    size_t k = 1;
    while (k < n && keep(cand_[k])) ++k;
    return k;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; ++i)
    if (keep(cand_[i])) cand_[k++] = cand_[i];
  return k;
}

// Softmax at the temperature, then one inverse-CDF draw.
int32_t Sampler::draw(size_t n) {
  float max = cand_[0].logit;
  for (size_t i = 1; i < n; ++i) max = std::max(max, cand_[i].logit);
  const float inv_t = 1.0f / params_.temperature;
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cand_[i].weight = std::exp((cand_[i].logit - max) * inv_t);
    total += cand_[i].weight;
  }
  // 53 random bits -> uniform double in [0, 1): identical on every platform,
  // unlike std::uniform_real_distribution.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
  double cum = 0.0;
  size_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    if (cand_[i].weight <= 0.0f) continue;  // underflowed: never pick it
    cum += cand_[i].weight;
    last = i;
    if (u < cum) return cand_[i].id;
  }
  return cand_[last].id;  // u landed in the rounding slack at the top
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.size() != static_cast<size_t>(vocab_size_))
    throw Error("sampler: got " + std::to_string(logits.size()) + " logits for a vocabulary of " +
                std::to_string(vocab_size_));
  size_t n = fill_candidates(logits);
  if (n == 0) throw Error("sampler: every logit is -inf or NaN, so no token can be sampled");

  if (params_.temperature <= 0.0f) {
    // Greedy: truncation always keeps the top token, so it cannot change this.
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (cand_[i].logit > cand_[best].logit) best = i;  // strict: ties keep the lowest id
    return cand_[best].id;
  }

  bool sorted = false;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    const auto k = static_cast<std::ptrdiff_t>(params_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + k,
                      cand_.begin() + static_cast<std::ptrdiff_t>(n),
                      [](const Candidate& a, const Candidate& b) {
                        return better(a.logit, a.id, b.logit, b.id);
                      });
    n = static_cast<size_t>(k);
    sorted = true;
  }
  if (n > 1 && params_.top_p < 1.0f) n = apply_top_p(n, sorted);
  if (n > 1 && params_.min_p > 0.0f) n = apply_min_p(n, sorted);
  if (n == 1) return cand_[0].id;
  return draw(n);
}

}  // namespace ma
