// N-API glue for buildInfo(), devices() and gpuStats().
#pragma once

#include <napi.h>

namespace trtn::js {

/// buildInfo(): { version, backends, cuda, cudaVersion, cudaArchs, compiler, buildSystem, napiVersion, note }
Napi::Value BuildInfoJs(const Napi::CallbackInfo& info);

/// devices(checkImages: boolean): { devices: [...], reason, driverVersion }
Napi::Value DevicesJs(const Napi::CallbackInfo& info);

/// gpuStats(): { gpus: [{ uuid, name, memoryTotal, memoryUsed, utilization, powerW, powerLimitW }], reason } from NVML
/// now (utilization 0..1; -1: not reported); reason says why there are none.
Napi::Value GpuStatsJs(const Napi::CallbackInfo& info);

}  // namespace trtn::js
