#include "state/recurrent_state.h"

#include <algorithm>

#include "core/error.h"

namespace ma {

RecurrentState::RecurrentState(const std::vector<size_t>& slot_bytes) {
  size_t total = 0;
  for (size_t b : slot_bytes) {
    if (b % sizeof(float) != 0) {
      throw Error("recurrent state slot of " + std::to_string(b) +
                  " bytes is not a whole number of floats");
    }
    offsets_.push_back(total);
    sizes_.push_back(b / sizeof(float));
    total += (b / sizeof(float) + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
  buffer_.assign(total, 0.0f);
}

size_t RecurrentState::slot_bytes(int64_t slot) const {
  return sizes_.at(static_cast<size_t>(slot)) * sizeof(float);
}

float* RecurrentState::slot(int64_t slot) {
  return buffer_.data() + offsets_.at(static_cast<size_t>(slot));
}

const float* RecurrentState::slot(int64_t slot) const {
  return buffer_.data() + offsets_.at(static_cast<size_t>(slot));
}

void RecurrentState::reset() {
  std::fill(buffer_.begin(), buffer_.end(), 0.0f);
}

}  // namespace ma
