// GPT-2's reversible map between bytes and printable code points: byte-level
// BPE vocabularies spell every byte as one visible character (space -> 'Ġ').
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ma::tok {

// The UTF-8 spelling of `byte` in a byte-level BPE vocabulary.
const std::string& byte_to_unicode(uint8_t byte);

// Appends the byte-level spelling of every byte of `text`.
void append_byte_encoded(std::string& out, std::string_view text);

// Maps a byte-level token spelling back to raw bytes; nullopt when a
// character is not one of the 256 byte characters.
std::optional<std::string> byte_decode(std::string_view spelled);

}  // namespace ma::tok
