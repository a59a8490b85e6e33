// The generation loop: prefill the prompt, then sample and decode one token
// at a time, streaming UTF-8-safe text until n tokens, an end-of-generation
// token, a stop string, or the end of the context.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/session.h"

namespace ma {

struct GenerateOptions {
  int64_t n_predict = 128;  // < 0: until end of generation or a full context
  SamplerParams sampling;
  std::vector<std::string> stop;
};

struct GenerateStats {
  int64_t n_prompt = 0;
  int64_t n_generated = 0;
  double prompt_seconds = 0;
  double generate_seconds = 0;
  std::string stop_reason;  // "length", "eog", "stop", "context"
  uint64_t seed = 0;
};

GenerateStats generate(Session& session, const std::vector<int32_t>& prompt,
                       const GenerateOptions& options,
                       const std::function<void(std::string_view)>& on_text);

}  // namespace ma
