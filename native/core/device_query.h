// The GPUs this process can see. Implemented by the cuda backend when CUDA is compiled in
// (backends/cuda/device_query.cc) and by device_query_none.cc otherwise.
#pragma once

#include <string>
#include <vector>

namespace trtn {

/// One visible GPU.
struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;             // compute capability
  unsigned long long total_memory = 0;  // bytes
  int multiprocessors = 0;
  int clock_khz = 0;  // SM clock; 0 when the runtime no longer reports it
  std::string pci_bus_id;
  std::string uuid;
  bool supported = false;          // our CUDA code has an image this GPU can run
  std::string unsupported_reason;  // why not, when !supported
};

/// Result of a device query: never fails; an empty list comes with the reason.
struct DeviceList {
  std::vector<DeviceInfo> devices;
  std::string reason;      // why the list is empty ("no NVIDIA driver", ...), else ""
  int driver_version = 0;  // CUDA driver API version, e.g. 13000; 0 when no driver
};

/// Lists the GPUs. Cheap: no CUDA context is created unless check_images is true, in which case
/// each device also runs a probe kernel to prove our binary has code for it.
DeviceList query_devices(bool check_images);

}  // namespace trtn
