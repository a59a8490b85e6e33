// Cutting special tokens out of text before the segmenter runs. A special
// token's text anywhere in the input becomes that token, whole.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace ma::tok {

// A run of ordinary text, or one special token (token != kNoToken).
struct Fragment {
  int32_t token = kNoToken;
  size_t offset = 0, length = 0;  // into the original text when token == kNoToken
};

// Splits `text` on the vocabulary's special tokens, longest first. With
// `parse_special` false, control and unknown tokens are left as text (for
// untrusted input); user-defined tokens still match, as in llama.cpp and
// Hugging Face tokenizers.
std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special);

}  // namespace ma::tok
