#include "tokenizer/byte_unicode.h"

#include <array>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace ma::tok {
namespace {

struct Tables {
  std::array<std::string, 256> to_unicode;
  std::unordered_map<uint32_t, uint8_t> to_byte;  // code point -> byte

  Tables() {
    // Printable Latin-1 bytes keep their own code point; the other 68 bytes
    // are numbered from U+0100 upwards in byte order.
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cpt = printable ? static_cast<uint32_t>(b) : next++;
      append_utf8(to_unicode[b], cpt);
      to_byte[cpt] = static_cast<uint8_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) {
  return tables().to_unicode[byte];
}

void append_byte_encoded(std::string& out, std::string_view text) {
  const auto& t = tables();
  for (char c : text) out += t.to_unicode[static_cast<uint8_t>(c)];
}

std::optional<std::string> byte_decode(std::string_view spelled) {
  const auto& t = tables();
  std::string out;
  out.reserve(spelled.size());
  size_t i = 0;
  while (i < spelled.size()) {
    const auto b0 = static_cast<uint8_t>(spelled[i]);
    const size_t n = utf8_seq_len(b0);
    if (i + n > spelled.size()) return std::nullopt;
    uint32_t cpt = 0;
    if (n == 1) {
      cpt = b0;
    } else if (n == 2) {
      cpt = ((b0 & 0x1Fu) << 6) | (static_cast<uint8_t>(spelled[i + 1]) & 0x3Fu);
    } else {
      return std::nullopt;  // byte characters are all below U+0800
    }
    const auto it = t.to_byte.find(cpt);
    if (it == t.to_byte.end()) return std::nullopt;
    out.push_back(static_cast<char>(it->second));
    i += n;
  }
  return out;
}

}  // namespace ma::tok
