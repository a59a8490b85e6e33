// Where a session runs: the CPU (always) or an NVIDIA GPU through CUDA (when
// the build found nvcc and the machine has a device).
#pragma once

#include <string>
#include <string_view>

namespace ma {

enum class Device { kCpu, kCuda };

inline const char* device_name(Device d) {
  return d == Device::kCuda ? "cuda" : "cpu";
}

// "cpu" or "cuda"; anything else is an ma::Error naming the choices.
Device parse_device(std::string_view name);

// True when this build has the CUDA backend and a CUDA device is present;
// otherwise false with the reason in *why.
bool cuda_available(std::string* why = nullptr);

// The name of CUDA device 0 (e.g. "NVIDIA H100 80GB HBM3"), or "" without one.
std::string cuda_device_name();

}  // namespace ma
