// The TensorRT module's C interface (trt_module_abi.h): a thin wrapper over mapping.cc and
// network_builder.cc, built into tensorrt_node_trt.so only where TensorRT is found. Every entry
// point catches everything, so no C++ exception crosses into the addon, and reports failures as a
// trtn::Code value plus a message for trtn_trt_last_error().
#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/tensorrt/mapping.h"
#include "backends/tensorrt/network_builder.h"
#include "backends/tensorrt/node_plugin.h"
#include "backends/tensorrt/trt_module_abi.h"
#include "core/graph.h"
#include "core/weights.h"

#define TRTN_TRT_EXPORT extern "C" __attribute__((visibility("default")))

struct trtn_trt_engine {
  int device = 0;
  std::unique_ptr<trtn::tensorrt::TrtEngine> engine;
};

struct trtn_trt_context {
  int device = 0;
  std::unique_ptr<trtn::tensorrt::TrtContext> context;
};

namespace trtn::tensorrt {
namespace {

thread_local std::string last_error;

/// TensorRT's log: warnings and errors are kept (the last few) so that a failed build or load can
/// say what TensorRT said. TensorRT takes one logger per process, so this is the only one.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override {
    if (severity > Severity::kWARNING) return;
    try {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(msg);
      if (lines_.size() > 8) lines_.pop_front();
    } catch (...) {
      // Logging must not throw into TensorRT; a line lost to low memory is acceptable.
    }
  }
  /// The kept lines, joined, and forgotten.
  std::string take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string s;
    for (const std::string& l : lines_) s += (s.empty() ? "" : " | ") + l;
    lines_.clear();
    return s;
  }

 private:
  std::mutex mu_;
  std::deque<std::string> lines_;
};

Logger& logger() {
  static Logger l;
  return l;
}

int fail(const Status& st) {
  last_error = st.message();
  const std::string plugins = take_node_plugin_errors();
  if (!plugins.empty()) last_error += " (" + plugins + ")";
  const std::string log = logger().take();
  if (!log.empty()) last_error += " (TensorRT's log: " + log + ")";
  return static_cast<int>(st.code());
}

Status use_device(int device) {
  const cudaError_t err = cudaSetDevice(device);
  if (err == cudaSuccess) return Status::ok();
  cudaGetLastError();
  return Status(Code::kNoDevice,
                "tensorrt backend: cudaSetDevice(" + std::to_string(device) + "): " + cudaGetErrorString(err));
}

/// Runs `body` with every exception turned into a Status.
template <typename F>
int guarded(F&& body) {
  last_error.clear();
  logger().take();
  take_node_plugin_errors();
  try {
    const Status st = body();
    return st.is_ok() ? 0 : fail(st);
  } catch (const std::bad_alloc&) {
    return fail(Status(Code::kOutOfMemory, "tensorrt backend: out of host memory"));
  } catch (const std::exception& e) {
    return fail(Status(Code::kInternal, std::string("tensorrt backend: ") + e.what()));
  } catch (...) {
    return fail(Status(Code::kInternal, "tensorrt backend: unknown exception"));
  }
}

}  // namespace
}  // namespace trtn::tensorrt

using namespace trtn;
using namespace trtn::tensorrt;

TRTN_TRT_EXPORT int trtn_trt_abi_version(void) { return TRTN_TRT_ABI_VERSION; }

TRTN_TRT_EXPORT int trtn_trt_library_version(void) { return getInferLibVersion(); }

TRTN_TRT_EXPORT int trtn_trt_header_version(void) { return NV_TENSORRT_VERSION; }

TRTN_TRT_EXPORT const char* trtn_trt_last_error(void) { return last_error.c_str(); }

TRTN_TRT_EXPORT int trtn_trt_set_host_ops(const trtn_trt_host_ops* ops) {
  return guarded([&]() -> Status { return set_host_ops(ops); });
}

TRTN_TRT_EXPORT int trtn_trt_build(const char* graph_json, size_t graph_json_size, const uint8_t* weights,
                                   size_t weights_size, int device, uint8_t** out, size_t* out_size) {
  return guarded([&]() -> Status {
    *out = nullptr;
    *out_size = 0;
    Graph graph;
    TRTN_TRY(parse_graph(std::string(graph_json, graph_json_size), &graph));
    WeightStore store;
    TRTN_TRY(WeightStore::deserialize(weights, weights_size, &store));
    NetworkPlan plan;
    TRTN_TRY(map_network(graph, store, &plan));
    TRTN_TRY(use_device(device));
    std::vector<uint8_t> bytes;
    TRTN_TRY(build_serialized_engine(plan, store, logger(), &bytes));
    uint8_t* p = static_cast<uint8_t*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
    if (p == nullptr)
      return Status(Code::kOutOfMemory, "tensorrt backend: out of host memory for the serialized engine");
    std::memcpy(p, bytes.data(), bytes.size());
    *out = p;
    *out_size = bytes.size();
    return Status::ok();
  });
}

TRTN_TRT_EXPORT void trtn_trt_free_bytes(uint8_t* bytes) { std::free(bytes); }

TRTN_TRT_EXPORT int trtn_trt_engine_create(const uint8_t* bytes, size_t size, int device,
                                           const char* const* input_names, int input_count,
                                           const char* const* output_names, int output_count, trtn_trt_engine** out) {
  return guarded([&]() -> Status {
    *out = nullptr;
    TRTN_TRY(use_device(device));
    auto e = std::make_unique<trtn_trt_engine>();
    e->device = device;
    TRTN_TRY(TrtEngine::load(std::vector<uint8_t>(bytes, bytes + size), logger(), &e->engine));
    TRTN_TRY(e->engine->order_io(std::vector<std::string>(input_names, input_names + input_count),
                                 std::vector<std::string>(output_names, output_names + output_count)));
    *out = e.release();
    return Status::ok();
  });
}

TRTN_TRT_EXPORT void trtn_trt_engine_destroy(trtn_trt_engine* engine) {
  if (engine == nullptr) return;
  cudaSetDevice(engine->device);
  delete engine;
}

TRTN_TRT_EXPORT int64_t trtn_trt_engine_device_memory(const trtn_trt_engine* engine) {
  return engine == nullptr ? 0 : engine->engine->device_memory_bytes();
}

TRTN_TRT_EXPORT int trtn_trt_context_create(trtn_trt_engine* engine, trtn_trt_context** out) {
  return guarded([&]() -> Status {
    *out = nullptr;
    TRTN_TRY(use_device(engine->device));
    auto c = std::make_unique<trtn_trt_context>();
    c->device = engine->device;
    TRTN_TRY(engine->engine->create_context(&c->context));
    *out = c.release();
    return Status::ok();
  });
}

TRTN_TRT_EXPORT void trtn_trt_context_destroy(trtn_trt_context* context) {
  if (context == nullptr) return;
  cudaSetDevice(context->device);
  delete context;
}

TRTN_TRT_EXPORT int trtn_trt_enqueue(trtn_trt_context* context, int batch, const void* const* inputs, int input_count,
                                     void* const* outputs, int output_count, void* cuda_stream) {
  return guarded([&]() -> Status {
    TRTN_TRY(use_device(context->device));
    return context->context->enqueue(batch, std::vector<const void*>(inputs, inputs + input_count),
                                     std::vector<void*>(outputs, outputs + output_count),
                                     static_cast<cudaStream_t>(cuda_stream));
  });
}

// The definitions above must match the function types the addon resolves them as.
static_assert(std::is_same_v<decltype(&trtn_trt_abi_version), trtn_trt_abi_version_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_library_version), trtn_trt_library_version_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_header_version), trtn_trt_header_version_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_last_error), trtn_trt_last_error_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_set_host_ops), trtn_trt_set_host_ops_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_build), trtn_trt_build_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_free_bytes), trtn_trt_free_bytes_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_engine_create), trtn_trt_engine_create_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_engine_destroy), trtn_trt_engine_destroy_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_engine_device_memory), trtn_trt_engine_device_memory_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_context_create), trtn_trt_context_create_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_context_destroy), trtn_trt_context_destroy_fn>);
static_assert(std::is_same_v<decltype(&trtn_trt_enqueue), trtn_trt_enqueue_fn>);
