// N-API glue for engines (lib/native.ts lists the JS signatures; contexts: js_context.h).
#pragma once

#include <napi.h>

namespace trtn::js {

/// backends(): [{ name, available, reason }] for the backends compiled in.
Napi::Value BackendsJs(const Napi::CallbackInfo& info);
/// supports(backend, graphJson) -> [{ layer, op, reason }]: the layers the backend cannot run (empty: all of them).
Napi::Value SupportsJs(const Napi::CallbackInfo& info);
/// buildEngine(backend, graphJson, weights: Float32Array[], threads, options?) -> Promise<engine> (threads: cpu, 0: the
/// shared pool)
Napi::Value BuildEngineJs(const Napi::CallbackInfo& info);
/// loadEngine(backend, graphJson, weights: Uint8Array, backendSection: Uint8Array, device?, threads?) ->
/// Promise<engine>
Napi::Value LoadEngineJs(const Napi::CallbackInfo& info);
/// serializeEngine(engine) -> { weights: Uint8Array, backend: Uint8Array }
Napi::Value SerializeEngineJs(const Napi::CallbackInfo& info);
/// planSectionSizes(engine) -> { weights, backend }: the byte lengths of the plan's weights and backend sections.
Napi::Value PlanSectionSizesJs(const Napi::CallbackInfo& info);
/// savePlan(engine, path, head, layout, graphJson) -> Promise<undefined>: writes the plan file off the JS thread.
Napi::Value SavePlanJs(const Napi::CallbackInfo& info);
/// loadPlanFile(backend, graphJson, path, layout, crc, device?, threads?) -> Promise<engine>: streams the weights from
/// the file.
Napi::Value LoadPlanFileJs(const Napi::CallbackInfo& info);
/// engineInfo(engine) -> { backend, activationBytesPerImage, weightBytes }
Napi::Value EngineInfoJs(const Napi::CallbackInfo& info);
/// disposeEngine(engine)
Napi::Value DisposeEngineJs(const Napi::CallbackInfo& info);
}  // namespace trtn::js
