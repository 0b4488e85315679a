// N-API glue for buildInfo() and devices().
#pragma once

#include <napi.h>

namespace trtn::js {

/// buildInfo(): { version, backends, cuda, cudaVersion, cudaArchs, compiler, buildSystem, napiVersion, note }
Napi::Value BuildInfoJs(const Napi::CallbackInfo& info);

/// devices(checkImages: boolean): { devices: [...], reason, driverVersion }
Napi::Value DevicesJs(const Napi::CallbackInfo& info);

}  // namespace trtn::js
