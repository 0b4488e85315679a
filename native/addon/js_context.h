// N-API glue for execution contexts and calibration histograms (lib/native.ts lists the JS signatures).
#pragma once

#include <napi.h>

namespace trtn::js {

/// createContext(engine) -> context
Napi::Value CreateContextJs(const Napi::CallbackInfo& info);
/// disposeContext(context): frees it once the calls already queued have run.
Napi::Value DisposeContextJs(const Napi::CallbackInfo& info);
/// execute(context, batch, inputs: TypedArray[], outputs: TypedArray[], histograms?, options?) -> Promise<timing | runs
/// | undefined> Each array is of its tensor's host form: Float32Array, Uint16Array (float16 bits) or Uint8Array. With
/// histograms, every float tensor's statistics are added to them (calibration).
Napi::Value ExecuteJs(const Napi::CallbackInfo& info);
/// createCancelToken() -> token: passed as execute's options.cancel, it lets cancel() stop the call.
Napi::Value CreateCancelTokenJs(const Napi::CallbackInfo& info);
/// cancel(token) -> true when the call had not started (it then rejects with E_ABORTED), false
/// when it runs or ran already (it finishes as it would have).
Napi::Value CancelJs(const Napi::CallbackInfo& info);
/// createHistograms(tensorCount) -> histograms (one per tensor of the graph it will observe)
Napi::Value CreateHistogramsJs(const Napi::CallbackInfo& info);
/// readHistograms(histograms) -> { amax: Float64Array, range: Float64Array, seen: Uint8Array, counts: Float64Array
/// (2048 per tensor) }
Napi::Value ReadHistogramsJs(const Napi::CallbackInfo& info);

}  // namespace trtn::js
