// N-API glue for layer plugins (core/plugins.h): loading a library, and a plugin layer's output
// shapes at import time. lib/network/plugins.ts validates the arguments.
#pragma once

#include <napi.h>

namespace trtn::js {

/// loadPlugin(path, register = true): { name, version, path, layers: [{ type, paramField,
/// paramNumber, paramFields, minInputs, maxInputs, outputs, cpu, cuda }] }; throws E_PLUGIN.
/// register false: describe the library without registering its types.
Napi::Value LoadPluginJs(const Napi::CallbackInfo& info);

/// registerHostedLayer(type, minInputs, maxInputs, outputs, fn?): the cpu backend runs layers of
/// `type` by calling fn(inputs: Float32Array[], inDims: number[][], outputs: Float32Array[],
/// outDims: number[][], params: string, batch) on this thread, the backend's thread waiting
/// (lib/network/plugins.ts registerLayer); throws E_PLUGIN.
Napi::Value RegisterHostedLayerJs(const Napi::CallbackInfo& info);

/// pluginOutputDims(type, paramsJson, inputShapes: number[][]): number[][]; throws E_SHAPE / E_PLUGIN.
Napi::Value PluginOutputDimsJs(const Napi::CallbackInfo& info);

}  // namespace trtn::js
