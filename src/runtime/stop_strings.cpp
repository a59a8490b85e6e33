#include "runtime/stop_strings.h"

#include <algorithm>

#include "core/error.h"

namespace ma {
namespace {

// Bytes at the end of `s` that start a UTF-8 character whose remaining bytes
// have not arrived yet (0 if the text ends on a character boundary or with
// bytes that can never complete). Holding them keeps emitted text whole even
// if a caller feeds raw token bytes.
size_t incomplete_utf8_tail(std::string_view s) {
  const size_t lookback = std::min<size_t>(s.size(), 3);
  for (size_t k = 1; k <= lookback; ++k) {
    const auto b = static_cast<unsigned char>(s[s.size() - k]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking back
    size_t need = 0;
    if ((b & 0xE0) == 0xC0)
      need = 2;
    else if ((b & 0xF0) == 0xE0)
      need = 3;
    else if ((b & 0xF8) == 0xF0)
      need = 4;
    return need > k ? k : 0;
  }
  return 0;
}

}  // namespace

StopStrings::StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (size_t i = 0; i < stops_.size(); ++i)
    if (stops_[i].empty())
      throw Error("stop strings: stop string " + std::to_string(i) + " is empty");
}

StopResult StopStrings::feed(std::string_view piece) {
  if (stopped_) return {"", true};
  held_.append(piece);

  // Earliest occurrence wins; held_ never contains a whole stop string from
  // before, so searching all of it finds only matches completed by `piece`.
  size_t best = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t pos = held_.find(stops_[i]);
    if (pos < best) {
      best = pos;
      matched_ = static_cast<int>(i);
    }
  }
  if (best != std::string::npos) {
    StopResult r{held_.substr(0, best), true};
    held_.clear();
    stopped_ = true;
    return r;
  }

  // Hold the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t len = std::min(s.size() - 1, held_.size()); len > hold; --len) {
      if (std::string_view(held_).substr(held_.size() - len) ==
          std::string_view(s).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  hold = std::max(hold, incomplete_utf8_tail(held_));
  StopResult r{held_.substr(0, held_.size() - hold), false};
  held_.erase(0, held_.size() - hold);
  return r;
}

std::string StopStrings::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

void StopStrings::reset() {
  held_.clear();
  stopped_ = false;
  matched_ = -1;
}

}  // namespace ma
