// Device query through the CUDA runtime (linked statically: only the driver is needed at run
// time). Never fails: a machine without a driver or without GPUs gets an empty list and a reason.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <string>

#include "backends/cuda/probe.h"
#include "core/device_query.h"

namespace trtn {
namespace {

bool driver_library_present() {
  void* handle = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (handle == nullptr) return false;
  dlclose(handle);
  return true;
}

// The oldest driver branch that runs this build's CUDA major release (minor-version compatibility:
// any driver of the major release's first branch runs its later minor releases).
#if CUDART_VERSION >= 13000
constexpr const char* kMinDriver = "R580";
#else
constexpr const char* kMinDriver = "R525";
#endif

std::string too_old_driver(int driver) {
  std::string says = driver > 0 ? " (it runs CUDA up to " + std::to_string(driver / 1000) + "." +
                                      std::to_string(driver % 1000 / 10) + ")"
                                : "";
  return "the NVIDIA driver" + says + " is too old for this CUDA " TRTN_CUDA_VERSION " build, which needs driver " +
         kMinDriver + " or newer: update the driver" +
         (CUDART_VERSION >= 13000
              ? ", or use a CUDA 12 build of tensorrt-node (the tensorrt-node.cuda12 binary runs on drivers from R525)"
              : "");
}

std::string reason_for(cudaError_t err, int driver) {
  switch (err) {
    case cudaErrorNoDevice: return "no CUDA-capable GPU is visible (check CUDA_VISIBLE_DEVICES and nvidia-smi)";
    case cudaErrorInsufficientDriver:
      return driver_library_present() ? too_old_driver(driver) : "no NVIDIA driver (libcuda.so.1 not found)";
    default:
      return std::string("CUDA initialisation failed: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
  }
}

std::string format_uuid(const cudaUUID_t& uuid) {
  std::string out = "GPU-";
  char hex[3];
  for (int i = 0; i < 16; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(uuid.bytes[i]));
    out += hex;
    if (i == 3 || i == 5 || i == 7 || i == 9) out += '-';
  }
  return out;
}

}  // namespace

DeviceList query_devices(bool check_images) {
  DeviceList list;
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess) list.driver_version = driver;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    list.reason = reason_for(err, driver);
    return list;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    DeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.total_memory = prop.totalGlobalMem;
    info.multiprocessors = prop.multiProcessorCount;
    int clock = 0;
    if (cudaDeviceGetAttribute(&clock, cudaDevAttrClockRate, i) == cudaSuccess) info.clock_khz = clock;
    char bus[32] = {0};
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, i) == cudaSuccess) info.pci_bus_id = bus;
    info.uuid = format_uuid(prop.uuid);
    if (prop.major * 10 + prop.minor < cuda::kMinSm) {
      info.unsupported_reason = "compute capability below " + cuda::min_capability();
    } else if (check_images) {
      int arch = 0;
      info.supported = cuda::run_probe(i, &arch, &info.unsupported_reason);
    } else {
      info.supported = true;  // by capability; devices({ checkImages: true }) runs code to prove it
    }
    list.devices.push_back(info);
  }
  if (list.devices.empty() && list.reason.empty()) list.reason = "no CUDA-capable GPU is visible";
  return list;
}

}  // namespace trtn
