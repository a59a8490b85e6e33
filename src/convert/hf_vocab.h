// Hugging Face tokenizer.json (+ tokenizer_config.json, config.json) to
// llama.cpp's tokenizer.* GGUF keys. Two families:
//  - byte-fallback BPE ("llama-style", SentencePiece-like pieces with U+2581):
//    tokenizer.ggml.model "llama", pre "default", tokens, scores, token_type;
//  - byte-level BPE (GPT-2 style): model "gpt2", a pre-tokenizer name
//    recognised from tokenizer.json, tokens, token_type, merges.
#pragma once

#include <cstdint>
#include <filesystem>

#include "convert/gguf_stream_writer.h"

namespace ma::convert {

// llama.cpp's token types (tokenizer.ggml.token_type values).
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

// Adds the tokenizer keys for the model in `dir`. The vocabulary is padded
// with "[PADn]" tokens up to `n_vocab` (the embedding rows); more tokens than
// that throw. Returns the token count written.
uint64_t add_hf_vocab(const std::filesystem::path& dir, uint64_t n_vocab, GgufStreamWriter& w);

}  // namespace ma::convert
