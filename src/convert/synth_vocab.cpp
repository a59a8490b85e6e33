#include "convert/synth_vocab.h"

#include "convert/hf_vocab.h"
#include "core/error.h"
#include "tokenizer/byte_unicode.h"

namespace ma::convert {

void add_synthetic_vocab(uint32_t n_vocab, GgufStreamWriter& w) {
  constexpr uint64_t kMax = 256 + 256 * 256 + 256ull * 256 * 256 + 2;
  if (n_vocab < 259 || n_vocab > kMax) {
    throw Error("synthetic vocabulary size " + std::to_string(n_vocab) + " is out of range");
  }
  const uint32_t n_plain = n_vocab - 2;
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
  tokens.reserve(n_vocab);
  for (int b = 0; b < 256; ++b) tokens.push_back(tok::byte_to_unicode(static_cast<uint8_t>(b)));
  // Pairs "xy" (merge "x y"), then triples "xyz" (merge "xy z"); ids follow merge order.
  for (uint32_t k = 0; tokens.size() < n_plain; ++k) {
    if (k < 256 * 256) {
      const std::string& x = tokens[k / 256];
      const std::string& y = tokens[k % 256];
      merges.push_back(x + " " + y);
      tokens.push_back(x + y);
    } else {
      const uint32_t t = k - 256 * 256;
      const std::string& xy = tokens[256 + t / 256];
      const std::string& z = tokens[t % 256];
      merges.push_back(xy + " " + z);
      tokens.push_back(xy + z);
    }
  }
  types.assign(tokens.size(), kTokenNormal);
  tokens.push_back("<|begin_of_text|>");
  tokens.push_back("<|end_of_text|>");
  types.push_back(kTokenControl);
  types.push_back(kTokenControl);
  w.set("tokenizer.ggml.model", gguf::Value::str("gpt2"));
  w.set("tokenizer.ggml.pre", gguf::Value::str("gpt-2"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.merges", gguf::Value::string_array(merges));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(n_vocab - 2));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(n_vocab - 1));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
}

}  // namespace ma::convert
