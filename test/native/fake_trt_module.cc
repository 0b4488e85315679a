// A stand-in for tensorrt_node_trt.so, built by test/unit/tensorrt_module.test.ts with g++: the C
// interface of native/backends/tensorrt/trt_module_abi.h with no TensorRT behind it, so the
// addon's loading and failure paths run on machines without TensorRT. -D switches:
//   FAKE_ABI_VERSION=n        report interface version n (default: the real one)
//   FAKE_LIBRARY_VERSION=expr report getInferLibVersion() as expr (default 100300: 10.3.0)
//   FAKE_FOREIGN              export none of the interface (a library that is not our module)
//   FAKE_BUILD_FAILS          trtn_trt_build fails as TensorRT refusing a layer
//   FAKE_NO_HOST_OPS          export no trtn_trt_set_host_ops (a module of before the host ops)
//   FAKE_HOST_OPS_EXTRA=n     want a host ops table n bytes larger than the addon's (refuse it)
//   FAKE_RUNS_NODE            run the graph's one node through the addon's host ops (below)
// Its "engine" is the bytes FAKE-ENGINE; enqueue checks its arguments and leaves the buffers alone.
//
// FAKE_RUNS_NODE: the "build" keeps the graph JSON and the weight bytes as the engine (the magic
// FAKE-NODE, two u64 sizes, both), engine_create hands them to the host's node_create (so the
// graph must be one node, as the TRTN_Node plugin's are), enqueue calls node_run on the addon's
// device buffers (the engine's inputs are the node's when it reads each graph input once, in
// order: the networks the tests give it) and engine_destroy node_destroy. The fake links no CUDA
// runtime, so it has no scratch memory to give: a node whose op asks for workspace fails its
// enqueue with a message saying so (the simplest choice; the real module takes it from TensorRT's
// plugin workspace).
//
// Environment: FAKE_PROBE_GRAPH, a graph JSON that trtn_trt_set_host_ops hands to the host's
// node_create at once; a refusal is the module's (its code and "node_create refused the probe
// graph: <the host's message>"), so the host's checks of a graph show without a GPU.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/tensorrt/trt_module_abi.h"

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION TRTN_TRT_ABI_VERSION
#endif
#ifndef FAKE_LIBRARY_VERSION
#define FAKE_LIBRARY_VERSION 100300
#endif
#ifndef FAKE_HOST_OPS_EXTRA
#define FAKE_HOST_OPS_EXTRA 0
#endif

#ifdef FAKE_LINKS_NVINFER
extern "C" int getInferLibVersion();
#endif

#ifndef FAKE_FOREIGN

struct trtn_trt_engine {
  int inputs = 0, outputs = 0;
  void* node = nullptr;  // FAKE_RUNS_NODE: the host's op
};
struct trtn_trt_context {
  trtn_trt_engine* engine = nullptr;
};

namespace {
thread_local std::string last_error;
const trtn_trt_host_ops* host = nullptr;
const char kEngine[] = "FAKE-ENGINE";
constexpr int kInvalidArgument = 1, kUnsupportedLayer = 3, kPlanCorrupt = 6;

int fail(int code, const std::string& message) {
  last_error = message;
  return code;
}

#ifdef FAKE_RUNS_NODE
const char kNodeMagic[8] = {'F', 'A', 'K', 'E', '-', 'N', 'O', 'D'};

/// A failed host call: its code, and the host's message as the fake's.
int host_failed(int code, const char* what) {
  const char* msg = host->last_error();
  return fail(code,
              msg != nullptr && *msg != '\0' ? std::string(msg) : std::string("fake module: host ") + what + " failed");
}

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}
#endif
}  // namespace

extern "C" {

int trtn_trt_abi_version(void) { return FAKE_ABI_VERSION; }
int trtn_trt_library_version(void) { return FAKE_LIBRARY_VERSION; }
int trtn_trt_header_version(void) { return 100300; }
const char* trtn_trt_last_error(void) { return last_error.c_str(); }

int trtn_trt_build(const char* graph_json, size_t graph_json_size, const uint8_t* weights, size_t weights_size,
                   int device, uint8_t** out, size_t* out_size) {
#ifdef FAKE_BUILD_FAILS
  return fail(kUnsupportedLayer, "fake module: TensorRT refused layer 'r'");
#endif
  if (graph_json == nullptr || graph_json_size == 0 || std::strstr(graph_json, "\"nodes\"") == nullptr) {
    return fail(kInvalidArgument, "fake module: no graph JSON");
  }
#ifdef FAKE_RUNS_NODE
  const size_t size = 24 + graph_json_size + weights_size;
  *out = static_cast<uint8_t*>(std::malloc(size));
  std::memcpy(*out, kNodeMagic, 8);
  put_u64(*out + 8, graph_json_size);
  put_u64(*out + 16, weights_size);
  std::memcpy(*out + 24, graph_json, graph_json_size);
  if (weights_size > 0) std::memcpy(*out + 24 + graph_json_size, weights, weights_size);
  *out_size = size;
  return 0;
#endif
  *out = static_cast<uint8_t*>(std::malloc(sizeof(kEngine)));
  std::memcpy(*out, kEngine, sizeof(kEngine));
  *out_size = sizeof(kEngine);
  return 0;
}

void trtn_trt_free_bytes(uint8_t* bytes) { std::free(bytes); }

int trtn_trt_engine_create(const uint8_t* bytes, size_t size, int device, const char* const* input_names,
                           int input_count, const char* const* output_names, int output_count, trtn_trt_engine** out) {
#ifdef FAKE_RUNS_NODE
  if (size < 24 || std::memcmp(bytes, kNodeMagic, 8) != 0)
    return fail(kPlanCorrupt, "fake module: not a fake node engine");
  const uint64_t json_size = get_u64(bytes + 8), weights_size = get_u64(bytes + 16);
  if (json_size > size - 24 || weights_size != size - 24 - json_size)
    return fail(kPlanCorrupt, "fake module: truncated node engine");
  if (host == nullptr) return fail(kInvalidArgument, "fake module: no host ops were set");
  void* node = nullptr;
  const int rc = host->node_create(reinterpret_cast<const char*>(bytes + 24), json_size, bytes + 24 + json_size,
                                   weights_size, &node);
  if (rc != 0) return host_failed(rc, "node_create");
  *out = new trtn_trt_engine{input_count, output_count, node};
  return 0;
#else
  if (size != sizeof(kEngine) || std::memcmp(bytes, kEngine, size) != 0)
    return fail(kPlanCorrupt, "fake module: not a fake engine");
  if (input_count != 1 || output_count != 1 || std::strcmp(input_names[0], "data") != 0) {
    return fail(kPlanCorrupt, "fake module: unexpected inputs or outputs");
  }
  *out = new trtn_trt_engine{input_count, output_count};
  return 0;
#endif
}

void trtn_trt_engine_destroy(trtn_trt_engine* engine) {
  if (engine != nullptr && engine->node != nullptr) host->node_destroy(engine->node);
  delete engine;
}
int64_t trtn_trt_engine_device_memory(const trtn_trt_engine*) { return 0; }

int trtn_trt_context_create(trtn_trt_engine* engine, trtn_trt_context** out) {
  *out = new trtn_trt_context{engine};
  return 0;
}

void trtn_trt_context_destroy(trtn_trt_context* context) { delete context; }

int trtn_trt_enqueue(trtn_trt_context* context, int batch, const void* const* inputs, int input_count,
                     void* const* outputs, int output_count, void* cuda_stream) {
  if (batch < 1 || input_count != context->engine->inputs || output_count != context->engine->outputs ||
      inputs[0] == nullptr || outputs[0] == nullptr || cuda_stream == nullptr) {
    return fail(kInvalidArgument, "fake module: bad enqueue arguments");
  }
#ifdef FAKE_RUNS_NODE
  const size_t workspace = host->node_workspace(context->engine->node, batch);
  if (workspace > 0) {
    return fail(kUnsupportedLayer, "fake module: the node's op needs " + std::to_string(workspace) +
                                       " bytes of workspace, and the fake has no CUDA runtime to allocate them");
  }
  const int rc = host->node_run(context->engine->node, batch, inputs, outputs, nullptr, cuda_stream);
  if (rc != 0) return host_failed(rc, "node_run");
#endif
  return 0;
}

#ifndef FAKE_NO_HOST_OPS
int trtn_trt_set_host_ops(const trtn_trt_host_ops* ops) {
  if (ops == nullptr || ops->size < sizeof(trtn_trt_host_ops) + FAKE_HOST_OPS_EXTRA) {
    return fail(kInvalidArgument, "fake module: the addon's host ops table has " +
                                      std::to_string(ops == nullptr ? 0 : ops->size) + " bytes; this module needs " +
                                      std::to_string(sizeof(trtn_trt_host_ops) + FAKE_HOST_OPS_EXTRA));
  }
  host = ops;
  if (const char* probe = std::getenv("FAKE_PROBE_GRAPH")) {
    void* op = nullptr;
    const int rc = ops->node_create(probe, std::strlen(probe), nullptr, 0, &op);
    if (rc != 0) return fail(rc, std::string("fake module: node_create refused the probe graph: ") + ops->last_error());
    ops->node_destroy(op);
  }
  return 0;
}
#endif

}  // extern "C"

#else

extern "C" int not_a_tensorrt_module(void) { return 0; }

#endif
