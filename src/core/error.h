// One exception type for every user-facing failure: a bad file, flag, prompt
// or request. The message names what went wrong and where; the CLI prints it
// on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace ma {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace ma
