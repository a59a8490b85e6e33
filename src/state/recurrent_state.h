// Fixed-size state of the recurrent (linear) layers of one sequence: one
// contiguous buffer holding a slot per layer whose StateSpec is kFixed, in
// depth order. Sized once when the session starts, so decoding never
// allocates; copying it forks or snapshots the sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ma {

class RecurrentState {
 public:
  RecurrentState() = default;
  // slot_bytes[i]: bytes of recurrent layer i (a multiple of sizeof(float)).
  explicit RecurrentState(const std::vector<size_t>& slot_bytes);

  int64_t n_slots() const { return static_cast<int64_t>(offsets_.size()); }
  size_t bytes() const { return buffer_.size() * sizeof(float); }
  size_t slot_bytes(int64_t slot) const;

  // The slot's floats; zero after construction and reset().
  float* slot(int64_t slot);
  const float* slot(int64_t slot) const;

  // Every slot with its padding, bytes() long (snapshots copy this).
  float* data() { return buffer_.data(); }
  const float* data() const { return buffer_.data(); }
  // Back to the state before the first token.
  void reset();

 private:
  // Slots start 64 bytes apart at least, so threads of two layers never share a line.
  static constexpr size_t kAlignFloats = 16;

  std::vector<size_t> offsets_;  // [n_slots] in floats
  std::vector<size_t> sizes_;    // [n_slots] in floats
  std::vector<float> buffer_;    // every slot, padded to kAlignFloats
};

}  // namespace ma
