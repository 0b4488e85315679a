/*
 * tensorrt-node layer plugins: the C interface a plugin library implements (ABI version 2; libraries
 * built for version 1 still load).
 *
 * A plugin library is a shared library that exports one function, trtn_plugin_v1(), returning a
 * description of the library and of each Caffe layer type it implements. tensorrt-node loads it
 * with loadPlugin(path) (or Builder({ plugins: [path] })); from then on prototxt layers of those
 * types import, shape and run like built-in ones:
 *   - the layer's parameters: a LayerParameter field the plugin names (param_field, at
 *     param_number) holding a message whose fields it lists (param_fields), so prototxt files
 *     written for the fork that had the layer parse as they are; the values set, with the declared
 *     defaults, reach every function below as a JSON object ("params");
 *   - output_dims: the output shapes from the input shapes (batch first), at import time;
 *   - forward_cpu: float32, contiguous (row-major, batch first), on the cpu backend's threads;
 *   - forward_cuda: float32, contiguous, device memory, enqueued on the given cudaStream_t;
 *   - forward_cuda_ex (ABI 2): the same with an element type (float32 or float16, the ones
 *     cuda_types lists) and device scratch memory of workspace_size bytes; an FP16 engine hands
 *     float16 tensors to a layer that takes them (no conversions around it).
 * A forward may be NULL: the backend without one refuses the layer when building.
 * Functions return 0 on success; otherwise they write a message (NUL-terminated, at most
 * error_size bytes) that tensorrt-node reports with the layer's name. They must be thread-safe
 * (several engines may run one layer type at once) and must not keep the pointers they are given.
 * Plans record each plugin layer's library name and version; loading a plan needs the library.
 * docs/plugins.md documents the interface; examples/plugins/ holds a complete example.
 */
#ifndef TENSORRT_NODE_PLUGIN_H_
#define TENSORRT_NODE_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRTN_PLUGIN_ABI_VERSION 2
#define TRTN_PLUGIN_MAX_DIMS 8

/* Element types of forward_cuda_ex's tensors (trtn_plugin_layer.cuda_types is a set of them). */
#define TRTN_PLUGIN_FLOAT32 1
#define TRTN_PLUGIN_FLOAT16 2

/* A tensor shape: rank dims, d[0] first. */
typedef struct trtn_dims {
  int32_t rank;
  int64_t d[TRTN_PLUGIN_MAX_DIMS];
} trtn_dims;

/* One layer type a library implements. */
typedef struct trtn_plugin_layer {
  /* The Caffe layer type ("LeakyReLU"). */
  const char* type;
  /* Its parameter message: the LayerParameter field name ("leaky_relu_param") and number, and its
   * fields as "name:type:number[:default]" joined by ';' (type: float, double, int32, int64,
   * uint32, bool or string); NULL / 0 / NULL for a layer without parameters. */
  const char* param_field;
  int32_t param_number;
  const char* param_fields;
  /* How many bottoms (min, max) and tops it takes. */
  int32_t min_inputs, max_inputs, outputs;
  /* Output shapes (batch first) from input shapes (batch first); out[i].rank and d[] to fill. */
  int32_t (*output_dims)(const char* params, int32_t n_in, const trtn_dims* in, int32_t n_out, trtn_dims* out,
                         char* error, size_t error_size);
  /* The layer on `batch` images: in_dims / out_dims are per image (no batch), data is float32. */
  int32_t (*forward_cpu)(const char* params, int32_t batch, int32_t n_in, const trtn_dims* in_dims,
                         const float* const* in, int32_t n_out, const trtn_dims* out_dims, float* const* out,
                         char* error, size_t error_size);
  int32_t (*forward_cuda)(const char* params, int32_t batch, int32_t n_in, const trtn_dims* in_dims,
                          const float* const* in, int32_t n_out, const trtn_dims* out_dims, float* const* out,
                          void* stream, char* error, size_t error_size);
  /* ABI 2 (a version 1 library's layers end above; these read as 0 / NULL for it). */
  /* The element types forward_cuda_ex takes (TRTN_PLUGIN_FLOAT32 | TRTN_PLUGIN_FLOAT16); 0 with no
   * forward_cuda_ex. Every input and output of one call has the same type, `dtype`. */
  uint32_t cuda_types;
  /* Device scratch bytes forward_cuda_ex needs for `batch` images in `dtype` (per-image dims as in
   * the forwards), asked when an engine is built and when a context sizes its memory; NULL: none. */
  size_t (*workspace_size)(const char* params, int32_t batch, int32_t dtype, int32_t n_in, const trtn_dims* in_dims,
                           int32_t n_out, const trtn_dims* out_dims);
  /* forward_cuda with `dtype` tensors (float or __half) and `workspace` (at least workspace_size
   * bytes, 256-byte aligned, NULL when that is 0). Used instead of forward_cuda when present. */
  int32_t (*forward_cuda_ex)(const char* params, int32_t batch, int32_t dtype, int32_t n_in, const trtn_dims* in_dims,
                             const void* const* in, int32_t n_out, const trtn_dims* out_dims, void* const* out,
                             void* workspace, void* stream, char* error, size_t error_size);
} trtn_plugin_layer;

/* The size of a layer description in a version 1 library (the fields above cuda_types). */
#define TRTN_PLUGIN_LAYER_V1_SIZE offsetof(trtn_plugin_layer, cuda_types)

/* The library. */
typedef struct trtn_plugin {
  uint32_t abi_version; /* TRTN_PLUGIN_ABI_VERSION (the layout of `layers`: 1 or 2) */
  const char* name;     /* the library's name, recorded in plans */
  uint32_t version;     /* its version, recorded in plans */
  int32_t layer_count;
  const trtn_plugin_layer* layers;
} trtn_plugin;

/* The one function a plugin library exports. */
typedef const trtn_plugin* (*trtn_plugin_v1_fn)(void);
#define TRTN_PLUGIN_ENTRY "trtn_plugin_v1"

#ifdef __cplusplus
}
#endif

#endif /* TENSORRT_NODE_PLUGIN_H_ */
