// N-API glue for engines and execution contexts (lib/native.ts lists the JS signatures).
#pragma once

#include <napi.h>

namespace trtn::js {

/// backends(): [{ name, available, reason }] for the backends compiled in.
Napi::Value BackendsJs(const Napi::CallbackInfo& info);
/// buildEngine(backend, graphJson, weights: Float32Array[], threads) -> Promise<engine>
Napi::Value BuildEngineJs(const Napi::CallbackInfo& info);
/// loadEngine(backend, graphJson, weights: Uint8Array, backendSection: Uint8Array) -> Promise<engine>
Napi::Value LoadEngineJs(const Napi::CallbackInfo& info);
/// serializeEngine(engine) -> { weights: Uint8Array, backend: Uint8Array }
Napi::Value SerializeEngineJs(const Napi::CallbackInfo& info);
/// engineInfo(engine) -> { backend, activationBytesPerImage, weightBytes }
Napi::Value EngineInfoJs(const Napi::CallbackInfo& info);
/// disposeEngine(engine)
Napi::Value DisposeEngineJs(const Napi::CallbackInfo& info);
/// createContext(engine) -> context
Napi::Value CreateContextJs(const Napi::CallbackInfo& info);
/// disposeContext(context)
Napi::Value DisposeContextJs(const Napi::CallbackInfo& info);
/// execute(context, batch, inputs: Float32Array[], outputs: Float32Array[], ranges: boolean)
///   -> Promise<undefined | Float64Array (max |x| per tensor, -1 for tensors not seen)>
Napi::Value ExecuteJs(const Napi::CallbackInfo& info);

}  // namespace trtn::js
