// UTF-8 helpers shared by the tokenizers and the streaming detokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ma::tok {

constexpr uint32_t kReplacementChar = 0xFFFD;

// Byte length announced by a lead byte (1 for ASCII and stray continuation bytes).
size_t utf8_seq_len(uint8_t lead);

void append_utf8(std::string& out, uint32_t cpt);

// Rewrites `text` as valid UTF-8: each byte that does not start a well-formed
// sequence becomes U+FFFD, as llama.cpp does before running its regexes
// (strict rules: no overlongs, surrogates or code points past U+10FFFF).
std::string sanitize_utf8(std::string_view text);

// How a buffer of bytes splits for streaming output.
struct Utf8Scan {
  size_t complete = 0;  // bytes [0, complete) are whole characters or known-bad bytes
  bool has_invalid = false;
};

// Scans for the longest prefix after which no character is cut. An
// incomplete sequence at the end is left out; invalid bytes are counted in.
Utf8Scan scan_utf8(std::string_view bytes);

}  // namespace ma::tok
