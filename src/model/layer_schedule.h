// Which sequence mixer sits at which depth: data, not code. Built from an
// explicit list, a period ("k linear layers then one attention layer"), or a
// pattern string; printed by `info` as e.g. "M M M M A M M M".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ma {

enum class MixerKind : char {
  kAttention = 'A',
  kMamba = 'M',
  kMamba2 = '2',
  kRwkv7 = 'R',
  kRgLru = 'G',
};

bool is_linear(MixerKind kind);

class LayerSchedule {
 public:
  LayerSchedule() = default;
  explicit LayerSchedule(std::vector<MixerKind> layers) : layers_(std::move(layers)) {}

  static LayerSchedule pure_transformer(int64_t n_layers);
  static LayerSchedule pure_linear(int64_t n_layers, MixerKind kind);
  // k linear layers then one attention layer, repeating: periodic(32, 7) is Jamba's 7:1.
  static LayerSchedule periodic(int64_t n_layers, int64_t k, MixerKind linear = MixerKind::kMamba);
  // One letter per layer, spaces ignored: "MMMA MMMA".
  static LayerSchedule from_pattern(std::string_view pattern);

  int64_t size() const { return static_cast<int64_t>(layers_.size()); }
  MixerKind operator[](int64_t i) const { return layers_[static_cast<size_t>(i)]; }
  int64_t count(MixerKind kind) const;
  std::string to_string() const;  // letters separated by spaces

 private:
  std::vector<MixerKind> layers_;
};

}  // namespace ma
