// The C interface between the main addon and the separately built TensorRT module
// (tensorrt_node_trt.so). The module links libnvinfer and the CUDA runtime; the addon never does:
// it dlopen()s the module on first use and resolves these functions by name (trt_backend.cc), so a
// machine without TensorRT only loses the tensorrt backend, with the reason. Plain C types only;
// nothing crosses the boundary as a C++ object or exception.
//
// Every function that can fail returns 0 on success or the numeric value of a trtn::Code
// (core/status.h, append-only, so stable across builds) and leaves its message for
// trtn_trt_last_error() on the calling thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bumped whenever a signature below changes; the addon refuses a module of another version.
#define TRTN_TRT_ABI_VERSION 2

/// A deserialized TensorRT engine (ICudaEngine and its IRuntime) on one GPU.
typedef struct trtn_trt_engine trtn_trt_engine;
/// One IExecutionContext of an engine.
typedef struct trtn_trt_context trtn_trt_context;

/// TRTN_TRT_ABI_VERSION as the module was compiled.
typedef int (*trtn_trt_abi_version_fn)(void);
/// getInferLibVersion() of the libnvinfer the module loaded (TensorRT 10+: major*10000 +
/// minor*100 + patch; TensorRT 8 and older: major*1000 + minor*100 + patch).
typedef int (*trtn_trt_library_version_fn)(void);
/// NV_TENSORRT_VERSION of the headers the module was compiled with (major*10000 + minor*100 + patch).
typedef int (*trtn_trt_header_version_fn)(void);
/// The message of the calling thread's last failure ("" when none).
typedef const char* (*trtn_trt_last_error_fn)(void);

/// Builds a serialized engine on GPU `device` from the execution graph (its JSON, as
/// native/core/graph.h parses it) and the prepared weights (WeightStore::serialize's bytes).
/// On success *out / *out_size hold bytes allocated by the module: release them with
/// trtn_trt_free_bytes.
typedef int (*trtn_trt_build_fn)(const char* graph_json, size_t graph_json_size, const uint8_t* weights,
                                 size_t weights_size, int device, uint8_t** out, size_t* out_size);
/// Releases bytes returned by trtn_trt_build.
typedef void (*trtn_trt_free_bytes_fn)(uint8_t* bytes);

/// Deserializes an engine on GPU `device`. `input_names` / `output_names` are the graph's I/O
/// tensors in graph order; the module checks that the engine has exactly those and keeps that
/// order for trtn_trt_enqueue.
typedef int (*trtn_trt_engine_create_fn)(const uint8_t* bytes, size_t size, int device, const char* const* input_names,
                                         int input_count, const char* const* output_names, int output_count,
                                         trtn_trt_engine** out);
typedef void (*trtn_trt_engine_destroy_fn)(trtn_trt_engine* engine);
/// Bytes of device memory one context needs beyond its I/O (0 when unknown).
typedef int64_t (*trtn_trt_engine_device_memory_fn)(const trtn_trt_engine* engine);

typedef int (*trtn_trt_context_create_fn)(trtn_trt_engine* engine, trtn_trt_context** out);
typedef void (*trtn_trt_context_destroy_fn)(trtn_trt_context* context);

/// Enqueues one batch on `cuda_stream` (a cudaStream_t): device buffers, float32, batch-major, in
/// graph order. Returns once the work is queued (enqueueV3); the caller synchronises.
typedef int (*trtn_trt_enqueue_fn)(trtn_trt_context* context, int batch, const void* const* inputs, int input_count,
                                   void* const* outputs, int output_count, void* cuda_stream);

/// What the addon lends the module for the nodes TensorRT has no layer for (SSD's DetectionOutput,
/// max unpooling, plugin layers): the cuda backend's op of one node, run on raw device buffers by
/// the module's TRTN_Node plugin (node_plugin.h). Functions that can fail return 0 or a trtn::Code
/// value and leave their message for last_error() on the calling thread.
typedef struct trtn_trt_host_ops {
  /// sizeof(trtn_trt_host_ops) as the addon was compiled (the module refuses a smaller table).
  size_t size;
  /// Creates the op of the only node of `graph_json` (an execution graph of one node, its inputs
  /// the graph's inputs and its outputs the graph's outputs, every tensor float32) with its
  /// prepared weights (WeightStore::serialize's bytes: the node's blobs) on the current CUDA device.
  int (*node_create)(const char* graph_json, size_t graph_json_size, const uint8_t* weights, size_t weights_size,
                     void** op);
  /// Bytes of device scratch memory a run of `batch` images needs.
  size_t (*node_workspace)(const void* op, int batch);
  /// Enqueues `batch` images on `cuda_stream` (a cudaStream_t): dense NCHW float32 device buffers,
  /// one per node input and one per node output, in the node's order (a tensor the node reads twice
  /// comes twice; a region tensor of R rows per image holds batch x R items), and
  /// node_workspace(op, batch) bytes of `workspace`.
  int (*node_run)(const void* op, int batch, const void* const* inputs, void* const* outputs, void* workspace,
                  void* cuda_stream);
  void (*node_destroy)(void* op);
  /// The message of the calling thread's last failure ("" when none).
  const char* (*last_error)(void);
} trtn_trt_host_ops;

/// Hands the module the addon's host ops, once, right after loading it (before any build or
/// engine); the table and its functions stay valid for the life of the process. Registers the
/// TRTN_Node plugin creator with TensorRT's plugin registry.
typedef int (*trtn_trt_set_host_ops_fn)(const trtn_trt_host_ops* ops);

#ifdef __cplusplus
}
#endif
