// Cuts generated text at the first stop string, across piece boundaries.
// Text that might be the start of a stop string is held back until the next
// piece settles it, so a caller streaming feed() output never shows a stop
// string or part of one. Concatenating every feed() text and flush() gives the
// generated text up to (not including) the first stop string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ma {

struct StopResult {
  std::string text;      // safe to emit now
  bool stopped = false;  // a stop string was hit: stop generating
};

class StopStrings {
 public:
  // Throws ma::Error for an empty stop string (it would match at once).
  explicit StopStrings(std::vector<std::string> stops);

  // Appends `piece`; returns the text that can no longer be part of a stop
  // string. Once stopped, further pieces are ignored.
  StopResult feed(std::string_view piece);
  // End of generation: the held-back text (empty if stopped).
  std::string flush();
  void reset();

  bool stopped() const { return stopped_; }
  // Index into stops() of the string that was hit, or -1.
  int matched() const { return matched_; }
  const std::vector<std::string>& stops() const { return stops_; }
  size_t held_bytes() const { return held_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
  int matched_ = -1;
};

}  // namespace ma
