// What the NVIDIA driver's management library (NVML, libnvidia-ml.so.1, loaded with dlopen: no
// toolkit or header needed) says of each GPU now: memory used, utilisation, power. The server's
// metrics read it at every scrape (Triton's nv_gpu_* gauges).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace trtn {

/// One GPU as NVML sees it (NVML's order; match GPUs by uuid, which devices() also reports).
struct GpuStat {
  std::string uuid;
  std::string name;
  uint64_t memory_total = 0;
  uint64_t memory_used = 0;
  /// Share of the last sample period a kernel ran, 0..1 (-1: NVML could not say).
  double utilization = -1;
  /// Watts now and the enforced limit (-1: NVML could not say).
  double power_w = -1;
  double power_limit_w = -1;
};

/// Every GPU's stats now, or kBackendUnavailable saying why there are none (no driver library).
Status read_gpu_stats(std::vector<GpuStat>* out);

}  // namespace trtn
