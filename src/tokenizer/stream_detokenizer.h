// Turns generated token ids into text as they arrive, emitting only whole
// UTF-8 characters: a character split over several byte tokens is held back
// until its last byte comes, and bytes that can never form a character are
// replaced by U+FFFD. Concatenating every push() and the final flush() gives
// valid UTF-8, equal to Tokenizer::decode wherever that is valid.
#pragma once

#include <cstdint>
#include <string>

namespace ma {

class Tokenizer;

class StreamDetokenizer {
 public:
  explicit StreamDetokenizer(const Tokenizer& tokenizer, bool render_special = true)
      : tok_(tokenizer), render_special_(render_special) {}

  // The text completed by `id` (often empty, sometimes several characters).
  std::string push(int32_t id);
  // What is still held back, incomplete sequences as U+FFFD; then starts over.
  std::string flush();
  void reset();

  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer& tok_;
  bool render_special_;
  bool at_text_start_ = true;
  std::string pending_;
};

}  // namespace ma
