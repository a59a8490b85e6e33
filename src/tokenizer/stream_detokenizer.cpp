#include "tokenizer/stream_detokenizer.h"

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace ma {

std::string StreamDetokenizer::push(int32_t id) {
  tok_.append_piece(pending_, id, at_text_start_, render_special_);
  const tok::Utf8Scan scan = tok::scan_utf8(pending_);
  if (scan.complete == 0) return {};
  std::string out = scan.has_invalid
                        ? tok::sanitize_utf8(std::string_view(pending_).substr(0, scan.complete))
                        : pending_.substr(0, scan.complete);
  pending_.erase(0, scan.complete);
  return out;
}

std::string StreamDetokenizer::flush() {
  std::string out = tok::sanitize_utf8(pending_);
  reset();
  return out;
}

void StreamDetokenizer::reset() {
  pending_.clear();
  at_text_start_ = true;
}

}  // namespace ma
