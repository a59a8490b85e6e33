#include "model/layer_schedule.h"

#include <algorithm>

#include "core/error.h"

namespace ma {

bool is_linear(MixerKind kind) {
  return kind != MixerKind::kAttention;
}

LayerSchedule LayerSchedule::pure_transformer(int64_t n_layers) {
  return LayerSchedule(
      std::vector<MixerKind>(static_cast<size_t>(n_layers), MixerKind::kAttention));
}

LayerSchedule LayerSchedule::pure_linear(int64_t n_layers, MixerKind kind) {
  return LayerSchedule(std::vector<MixerKind>(static_cast<size_t>(n_layers), kind));
}

LayerSchedule LayerSchedule::periodic(int64_t n_layers, int64_t k, MixerKind linear) {
  if (k < 0) throw Error("periodic schedule: k must be >= 0");
  std::vector<MixerKind> layers;
  for (int64_t i = 0; i < n_layers; ++i) {
    layers.push_back(i % (k + 1) == k ? MixerKind::kAttention : linear);
  }
  return LayerSchedule(std::move(layers));
}

LayerSchedule LayerSchedule::from_pattern(std::string_view pattern) {
  std::vector<MixerKind> layers;
  for (char c : pattern) {
    switch (c) {
      case ' ':
        break;
      case 'A':
      case '*':
        layers.push_back(MixerKind::kAttention);
        break;
      case 'M':
        layers.push_back(MixerKind::kMamba);
        break;
      case '2':
        layers.push_back(MixerKind::kMamba2);
        break;
      case 'R':
        layers.push_back(MixerKind::kRwkv7);
        break;
      case 'G':
        layers.push_back(MixerKind::kRgLru);
        break;
      default:
        throw Error(std::string("layer pattern: unknown mixer letter '") + c + "'");
    }
  }
  return LayerSchedule(std::move(layers));
}

int64_t LayerSchedule::count(MixerKind kind) const {
  return std::count(layers_.begin(), layers_.end(), kind);
}

std::string LayerSchedule::to_string() const {
  std::string out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (i) out += ' ';
    out += static_cast<char>(layers_[i]);
  }
  return out;
}

}  // namespace ma
