// The tensorrt backend as the main addon sees it: always registered, never linked against
// TensorRT. On first use it dlopen()s the separately built module tensorrt_node_trt.so (next to
// the addon, or the file named by TRTN_TENSORRT_MODULE) and talks to it only through the C
// interface of trt_module_abi.h; every failure to load (module not built, libnvinfer missing,
// TensorRT older than 10.0, addon without CUDA, no GPU) makes the backend unavailable with the
// reason, so `auto` moves on.
#pragma once

#include "core/backend.h"

namespace trtn::tensorrt {

/// The backend table ("tensorrt").
const Backend& backend();

}  // namespace trtn::tensorrt
