// A stand-in for tensorrt_node_trt.so, built by test/unit/tensorrt_module.test.ts with g++: the C
// interface of native/backends/tensorrt/trt_module_abi.h with no TensorRT behind it, so the
// addon's loading and failure paths run on machines without TensorRT. -D switches:
//   FAKE_ABI_VERSION=n        report interface version n (default: the real one)
//   FAKE_LIBRARY_VERSION=expr report getInferLibVersion() as expr (default 100300: 10.3.0)
//   FAKE_FOREIGN              export none of the interface (a library that is not our module)
//   FAKE_BUILD_FAILS          trtn_trt_build fails as TensorRT refusing a layer
// Its "engine" is the bytes FAKE-ENGINE; enqueue checks its arguments and leaves the buffers alone.
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

#ifdef FAKE_LINKS_NVINFER
extern "C" int getInferLibVersion();
#endif

#ifndef FAKE_FOREIGN

struct trtn_trt_engine {
  int inputs = 0, outputs = 0;
};
struct trtn_trt_context {
  trtn_trt_engine* engine = nullptr;
};

namespace {
thread_local std::string last_error;
const char kEngine[] = "FAKE-ENGINE";
constexpr int kInvalidArgument = 1, kUnsupportedLayer = 3, kPlanCorrupt = 6;

int fail(int code, const char* message) {
  last_error = message;
  return code;
}
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
  *out = static_cast<uint8_t*>(std::malloc(sizeof(kEngine)));
  std::memcpy(*out, kEngine, sizeof(kEngine));
  *out_size = sizeof(kEngine);
  return 0;
}

void trtn_trt_free_bytes(uint8_t* bytes) { std::free(bytes); }

int trtn_trt_engine_create(const uint8_t* bytes, size_t size, int device, const char* const* input_names,
                           int input_count, const char* const* output_names, int output_count, trtn_trt_engine** out) {
  if (size != sizeof(kEngine) || std::memcmp(bytes, kEngine, size) != 0) return fail(kPlanCorrupt, "fake module: not a fake engine");
  if (input_count != 1 || output_count != 1 || std::strcmp(input_names[0], "data") != 0) {
    return fail(kPlanCorrupt, "fake module: unexpected inputs or outputs");
  }
  *out = new trtn_trt_engine{input_count, output_count};
  return 0;
}

void trtn_trt_engine_destroy(trtn_trt_engine* engine) { delete engine; }
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
  return 0;
}

}  // extern "C"

#else

extern "C" int not_a_tensorrt_module(void) { return 0; }

#endif
