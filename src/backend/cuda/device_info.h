// What the CUDA kernels' launchers ask of the card: its compute capability
// (which kernels it runs: programmatic dependent launch and bulk copies
// from Hopper on, wgmma on sm_90 exactly), its SMs and its shared memory
// per block. The engine runs on one device, so they are read once.
#pragma once

namespace ma::cuda {

struct DeviceInfo {
  int major = 0, minor = 0;
  int sms = 0;
  int smem_optin = 0;  // bytes of shared memory a block may opt in to
};

// The current device's; a CUDA error reading them throws.
const DeviceInfo& device_info();

}  // namespace ma::cuda
