// NVML through dlopen: the few entry points the metrics read, declared here from NVML's public C
// API (return codes, opaque device handles, two plain structs), loaded once.
#include "core/nvml.h"

#include <dlfcn.h>

#include <mutex>

namespace trtn {
namespace {

using Device = void*;  // nvmlDevice_t: an opaque handle
struct Memory {        // nvmlMemory_t
  unsigned long long total, free, used;
};
struct Utilization {  // nvmlUtilization_t, percent
  unsigned int gpu, memory;
};

struct Nvml {
  int (*init)() = nullptr;
  int (*count)(unsigned int*) = nullptr;
  int (*by_index)(unsigned int, Device*) = nullptr;
  int (*uuid)(Device, char*, unsigned int) = nullptr;
  int (*name)(Device, char*, unsigned int) = nullptr;
  int (*memory)(Device, Memory*) = nullptr;
  int (*utilization)(Device, Utilization*) = nullptr;
  int (*power)(Device, unsigned int*) = nullptr;
  int (*power_limit)(Device, unsigned int*) = nullptr;
  std::string reason;  // empty: loaded and initialised
};

template <class F>
bool bind(void* lib, const char* symbol, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, symbol));
  return *out != nullptr;
}

Nvml load() {
  Nvml n;
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib == nullptr) {
    n.reason = "the NVIDIA driver's libnvidia-ml.so.1 was not found (no driver on this machine)";
    return n;
  }
  const bool ok = bind(lib, "nvmlInit_v2", &n.init) && bind(lib, "nvmlDeviceGetCount_v2", &n.count) &&
                  bind(lib, "nvmlDeviceGetHandleByIndex_v2", &n.by_index) && bind(lib, "nvmlDeviceGetUUID", &n.uuid) &&
                  bind(lib, "nvmlDeviceGetName", &n.name) && bind(lib, "nvmlDeviceGetMemoryInfo", &n.memory);
  if (!ok) {
    n.reason = "libnvidia-ml.so.1 lacks the NVML entry points the metrics read (a driver older than R450?)";
    return n;
  }
  bind(lib, "nvmlDeviceGetUtilizationRates", &n.utilization);  // optional: -1 when absent
  bind(lib, "nvmlDeviceGetPowerUsage", &n.power);
  bind(lib, "nvmlDeviceGetEnforcedPowerLimit", &n.power_limit);
  if (const int rc = n.init(); rc != 0) n.reason = "nvmlInit failed (NVML error " + std::to_string(rc) + ")";
  return n;
}

const Nvml& nvml() {
  static std::once_flag once;
  static Nvml* n = nullptr;  // kept for the process's life
  std::call_once(once, [] { n = new Nvml(load()); });
  return *n;
}

GpuStat stat_of(const Nvml& n, Device d) {
  GpuStat s;
  char text[96] = {0};
  if (n.uuid(d, text, sizeof(text)) == 0) s.uuid = text;
  if (n.name(d, text, sizeof(text)) == 0) s.name = text;
  Memory m{};
  if (n.memory(d, &m) == 0) {
    s.memory_total = m.total;
    s.memory_used = m.used;
  }
  Utilization u{};
  if (n.utilization != nullptr && n.utilization(d, &u) == 0) s.utilization = u.gpu / 100.0;
  unsigned int mw = 0;
  if (n.power != nullptr && n.power(d, &mw) == 0) s.power_w = mw / 1000.0;
  if (n.power_limit != nullptr && n.power_limit(d, &mw) == 0) s.power_limit_w = mw / 1000.0;
  return s;
}

}  // namespace

Status read_gpu_stats(std::vector<GpuStat>* out) {
  out->clear();
  const Nvml& n = nvml();
  if (!n.reason.empty()) return Status(Code::kBackendUnavailable, n.reason);
  unsigned int count = 0;
  if (const int rc = n.count(&count); rc != 0) {
    return Status(Code::kBackendUnavailable, "NVML could not count the GPUs (NVML error " + std::to_string(rc) + ")");
  }
  for (unsigned int i = 0; i < count; ++i) {
    Device d = nullptr;
    if (n.by_index(i, &d) == 0) out->push_back(stat_of(n, d));
  }
  return Status::ok();
}

}  // namespace trtn
