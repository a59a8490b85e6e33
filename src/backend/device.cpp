#include "backend/device.h"

#include "core/error.h"

namespace ma {

Device parse_device(std::string_view name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") return Device::kCuda;
  throw Error("unknown device '" + std::string(name) + "' (choose cpu or cuda)");
}

}  // namespace ma
