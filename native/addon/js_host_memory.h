// Host memory for engine inputs and outputs that JavaScript fills and reads directly: ArrayBuffers
// over the engine's own kind of host memory (pinned on GPU backends), made by
// engine.createInputs() / createOutputs(). An inference given such arrays copies nothing on the
// host: the GPU reads the inputs and writes the outputs in place. The memory is reported to V8 and
// freed when the ArrayBuffer is collected (later, if an inference still uses it).
#pragma once

#include <napi.h>

#include <cstddef>
#include <memory>

#include "core/host_memory.h"

namespace trtn::js {

/// allocateHost(engine, bytes) -> ArrayBuffer over host memory of the engine's kind.
Napi::Value AllocateHostJs(const Napi::CallbackInfo& info);

/// The block holding [data, data + bytes) when it lies inside memory allocateHost made, else null.
std::shared_ptr<HostBlock> find_host_block(const void* data, size_t bytes);

}  // namespace trtn::js
