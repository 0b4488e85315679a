// The tensorrt backend's adapter in the main addon (trt_backend.h). The module is loaded once per
// process and the outcome (the module, or the reason it cannot be used) is kept. The engine holds
// the serialized TensorRT engine (the plan's backend section) and the module's deserialized
// engine; a context owns a stream, device buffers for the I/O at maxBatchSize, pinned staging
// buffers and events around H2D / compute / D2H, like the cuda backend's contexts, so bench times
// it the same way. Right after loading, the module gets the addon's host ops (trtn_trt_host_ops):
// the cuda backend's op of one node (backends/cuda/single_node.h), which its TRTN_Node plugin runs
// for the nodes TensorRT has no layer for.
#include "backends/tensorrt/trt_backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include "backends/tensorrt/trt_module_abi.h"
#include "core/device_query.h"
#include "core/json.h"

#ifdef TRTN_WITH_CUDA
#include <cuda_runtime.h>

#include "backends/cuda/single_node.h"
#include "gpu/cuda_check.h"
#include "gpu/run_loop.h"
#endif

#ifndef TRTN_NO_CUDA_NOTE
#define TRTN_NO_CUDA_NOTE "built without CUDA"
#endif

namespace trtn::tensorrt {
namespace {

constexpr const char* kModuleFile = "tensorrt_node_trt.so";
/// TensorRT before 10 lacks what network_builder.cc uses (strongly typed networks, enqueueV3 ...).
constexpr int kMinimumVersion = 100000;

/// The module's functions, resolved by name.
struct Module {
  std::string path;
  int library_version = 0;  // normalised: major*10000 + minor*100 + patch
  int header_version = 0;
  trtn_trt_last_error_fn last_error = nullptr;
  trtn_trt_build_fn build = nullptr;
  trtn_trt_free_bytes_fn free_bytes = nullptr;
  trtn_trt_engine_create_fn engine_create = nullptr;
  trtn_trt_engine_destroy_fn engine_destroy = nullptr;
  trtn_trt_engine_device_memory_fn engine_device_memory = nullptr;
  trtn_trt_context_create_fn context_create = nullptr;
  trtn_trt_context_destroy_fn context_destroy = nullptr;
  trtn_trt_enqueue_fn enqueue = nullptr;

  /// The Status of a failed module call (its code and last error).
  Status failure(int code, const char* what) const {
    const char* msg = last_error();
    std::string m = msg != nullptr && *msg != '\0' ? msg : std::string("tensorrt backend: ") + what + " failed";
    return Status(static_cast<Code>(code), m);
  }
};

// The host ops lent to the module. Each function catches everything (nothing crosses the C
// boundary as an exception), returns a Code value and keeps its message for host_last_error() on
// the calling thread.

thread_local std::string host_error;

/// Keeps `st`'s message as the thread's last error and returns its code.
int host_fail(const Status& st) noexcept {
  try {
    host_error = st.message();
  } catch (...) {
    host_error.clear();  // out of memory for the message: the code still says what failed
  }
  return static_cast<int>(st.code());
}

/// Runs `f` (returns a Status) with every exception turned into a failure naming `what`.
template <typename F>
int host_call(const char* what, F&& f) noexcept {
  try {
    const Status st = f();
    return st.is_ok() ? 0 : host_fail(st);
  } catch (const std::bad_alloc&) {
    return host_fail(Status(Code::kOutOfMemory, std::string("tensorrt backend: out of host memory in ") + what));
  } catch (const std::exception& e) {
    return host_fail(Status(Code::kInternal, std::string("tensorrt backend: ") + what + " failed: " + e.what()));
  } catch (...) {
    return host_fail(Status(Code::kInternal, std::string("tensorrt backend: ") + what + " failed"));
  }
}

const char* host_last_error() { return host_error.c_str(); }

#ifdef TRTN_WITH_CUDA

int host_node_create(const char* graph_json, size_t graph_json_size, const uint8_t* weights, size_t weights_size,
                     void** op) {
  return host_call("creating a node op", [&] {
    if (graph_json == nullptr || op == nullptr) {
      return Status(Code::kInvalidArgument, "tensorrt backend: node_create without a graph or a place for the op");
    }
    std::unique_ptr<cuda::SingleNode> node;
    TRTN_TRY(cuda::make_single_node(std::string(graph_json, graph_json_size), weights, weights_size, &node));
    *op = node.release();
    return Status::ok();
  });
}

/// SIZE_MAX when it fails (no Status to return): the allocation asked for then fails loudly
/// instead of a run with too little scratch memory.
size_t host_node_workspace(const void* op, int batch) {
  size_t bytes = SIZE_MAX;
  const int rc = host_call("sizing a node op's workspace", [&] {
    if (op == nullptr) return Status(Code::kInvalidArgument, "tensorrt backend: node_workspace without an op");
    bytes = static_cast<const cuda::SingleNode*>(op)->workspace_bytes(batch);
    return Status::ok();
  });
  return rc == 0 ? bytes : SIZE_MAX;
}

int host_node_run(const void* op, int batch, const void* const* inputs, void* const* outputs, void* workspace,
                  void* cuda_stream) {
  return host_call("running a node op", [&] {
    if (op == nullptr || inputs == nullptr || outputs == nullptr) {
      return Status(Code::kInvalidArgument, "tensorrt backend: node_run without an op or its buffers");
    }
    return static_cast<const cuda::SingleNode*>(op)->run(batch, inputs, outputs, workspace,
                                                         static_cast<cudaStream_t>(cuda_stream));
  });
}

void host_node_destroy(void* op) {
  (void)host_call("destroying a node op", [&] {
    delete static_cast<cuda::SingleNode*>(op);
    return Status::ok();
  });
}

#else  // !TRTN_WITH_CUDA: no cuda backend to run a node with

int host_node_create(const char*, size_t, const uint8_t*, size_t, void**) {
  return host_fail(Status(Code::kBackendUnavailable,
                          "tensorrt backend: this addon was " TRTN_NO_CUDA_NOTE
                          ", so it has no cuda backend to run the nodes TensorRT has no layer for"));
}
size_t host_node_workspace(const void*, int) { return 0; }
int host_node_run(const void*, int, const void* const*, void* const*, void*, void*) {
  return host_fail(Status(Code::kBackendUnavailable, "tensorrt backend: this addon was " TRTN_NO_CUDA_NOTE));
}
void host_node_destroy(void*) {}

#endif

/// The table handed to the module; it lives for the process, as the ABI asks.
const trtn_trt_host_ops kHostOps{sizeof(trtn_trt_host_ops), host_node_create, host_node_workspace, host_node_run,
                                 host_node_destroy,         host_last_error};

/// getInferLibVersion()'s value as major*10000 + minor*100 + patch: TensorRT 10 reports it so,
/// TensorRT 8 and older as major*1000 + minor*100 + patch.
int normalise_version(int v) {
  if (v >= 100000) return v;
  return (v / 1000) * 10000 + ((v / 100) % 10) * 100 + v % 100;
}

std::string version_text(int v) {
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

/// Where the module should be: $TRTN_TENSORRT_MODULE, else next to this addon's own file.
std::string module_path() {
  const char* env = std::getenv("TRTN_TENSORRT_MODULE");
  if (env != nullptr && *env != '\0') return env;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&module_path), &info) == 0 || info.dli_fname == nullptr) return kModuleFile;
  std::string self = info.dli_fname;
  const size_t slash = self.rfind('/');
  return slash == std::string::npos ? kModuleFile : self.substr(0, slash + 1) + kModuleFile;
}

template <typename F>
bool resolve(void* handle, const char* name, F* out, std::string* missing) {
  dlerror();
  *out = reinterpret_cast<F>(dlsym(handle, name));
  if (*out == nullptr) {
    const char* err = dlerror();
    *missing = err != nullptr ? err : std::string("undefined symbol: ") + name;
    return false;
  }
  return true;
}

/// Loads the module; on failure *why says why and the library is closed again.
bool load_module(Module* m, std::string* why) {
  m->path = module_path();
  if (std::getenv("TRTN_TENSORRT_MODULE") == nullptr && access(m->path.c_str(), F_OK) != 0) {
    // lib/native.ts rewrites this reason with every place it looked and the command for its layout.
    *why = "the TensorRT module is not built: " + m->path +
           " does not exist (build it where TensorRT is installed: TENSORRT_ROOT=<TensorRT folder> npm rebuild "
           "tensorrt-node, or npm run build in a checkout)";
    return false;
  }
  void* handle = dlopen(m->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    *why =
        "the TensorRT module " + m->path + " could not be loaded: " + (err != nullptr ? err : "unknown dlopen error");
    return false;
  }
  std::string missing;
  trtn_trt_abi_version_fn abi = nullptr;
  trtn_trt_library_version_fn library = nullptr;
  trtn_trt_header_version_fn header = nullptr;
  const bool ok = resolve(handle, "trtn_trt_abi_version", &abi, &missing) &&
                  resolve(handle, "trtn_trt_library_version", &library, &missing) &&
                  resolve(handle, "trtn_trt_header_version", &header, &missing) &&
                  resolve(handle, "trtn_trt_last_error", &m->last_error, &missing) &&
                  resolve(handle, "trtn_trt_build", &m->build, &missing) &&
                  resolve(handle, "trtn_trt_free_bytes", &m->free_bytes, &missing) &&
                  resolve(handle, "trtn_trt_engine_create", &m->engine_create, &missing) &&
                  resolve(handle, "trtn_trt_engine_destroy", &m->engine_destroy, &missing) &&
                  resolve(handle, "trtn_trt_engine_device_memory", &m->engine_device_memory, &missing) &&
                  resolve(handle, "trtn_trt_context_create", &m->context_create, &missing) &&
                  resolve(handle, "trtn_trt_context_destroy", &m->context_destroy, &missing) &&
                  resolve(handle, "trtn_trt_enqueue", &m->enqueue, &missing);
  if (!ok) {
    *why = m->path + " is not a tensorrt-node TensorRT module: " + missing;
    dlclose(handle);
    return false;
  }
  if (abi() != TRTN_TRT_ABI_VERSION) {
    *why = "the TensorRT module " + m->path + " has interface version " + std::to_string(abi()) +
           " but this addon needs version " + std::to_string(TRTN_TRT_ABI_VERSION) + ": rebuild both together";
    dlclose(handle);
    return false;
  }
  // Resolved after the version check, so a module of an older interface is reported as that.
  trtn_trt_set_host_ops_fn set_host_ops = nullptr;
  if (!resolve(handle, "trtn_trt_set_host_ops", &set_host_ops, &missing)) {
    *why = m->path + " is not a tensorrt-node TensorRT module: " + missing;
    dlclose(handle);
    return false;
  }
  m->library_version = normalise_version(library());
  m->header_version = header();
  if (m->library_version < kMinimumVersion) {
    *why = "TensorRT " + version_text(m->library_version) + " (the libnvinfer that " + m->path +
           " loaded) is too old: the tensorrt backend needs TensorRT 10.0 or newer";
    dlclose(handle);
    return false;
  }
  const int rc = set_host_ops(&kHostOps);
  if (rc != 0) {
    const char* err = m->last_error();
    *why = "the TensorRT module " + m->path + " did not take the addon's node ops: " +
           (err != nullptr && *err != '\0' ? err : "error " + std::to_string(rc));
    // Not closed: the module may have registered its plugin creator with TensorRT before failing.
    return false;
  }
  // The module stays loaded for the life of the process: engines may be freed as late as exit.
  return true;
}

/// The module, loaded on first use, or nullptr with the reason.
const Module* module(std::string* why) {
  static std::once_flag once;
  static Module m;
  static bool ok = false;
  static std::string reason;
  std::call_once(once, [] { ok = load_module(&m, &reason); });
  if (!ok && why != nullptr) *why = reason;
  return ok ? &m : nullptr;
}

bool available(std::string* why) {
  std::string reason;
  const Module* m = module(&reason);
  if (m == nullptr) {
    *why = reason;
    return false;
  }
#ifndef TRTN_WITH_CUDA
  *why = "TensorRT " + version_text(m->library_version) + " was found (" + m->path +
         "), but this addon was " TRTN_NO_CUDA_NOTE ", and the tensorrt backend needs the CUDA runtime";
  return false;
#else
  const DeviceList list = query_devices(false);
  if (list.devices.empty()) {
    *why = "TensorRT " + version_text(m->library_version) + " was found, but " +
           (list.reason.empty() ? std::string("no CUDA-capable GPU is visible") : list.reason);
    return false;
  }
  for (const DeviceInfo& d : list.devices) {
    if (d.major * 10 + d.minor >= 75) return true;
  }
  *why = "TensorRT " + version_text(m->library_version) +
         " was found, but no visible GPU has compute capability 7.5 or newer (" + list.devices[0].name + " is " +
         std::to_string(list.devices[0].major) + "." + std::to_string(list.devices[0].minor) + ")";
  return false;
#endif
}

#ifdef TRTN_WITH_CUDA

constexpr char kSectionMagic[8] = {'T', 'R', 'T', 'N', '-', 'T', 'R', 'T'};
constexpr int kSectionFormat = 1;

/// The plan's backend section: magic, u32 header length, a JSON header, the serialized engine.
struct Section {
  int format = kSectionFormat;
  int tensorrt_version = 0;
  int sm = 0;
  std::string device_name;
  std::vector<uint8_t> engine;
};

void write_section(const Section& s, std::vector<uint8_t>* out) {
  json::Writer w;
  // clang-format off
  w.begin_object()
      .key("format").number(s.format)
      .key("tensorrt").string(version_text(s.tensorrt_version))
      .key("tensorrtVersion").number(s.tensorrt_version)
      .key("sm").number(s.sm)
      .key("device").string(s.device_name)
      .end_object();
  // clang-format on
  const std::string& header = w.text();
  const uint32_t n = static_cast<uint32_t>(header.size());
  out->assign(12 + header.size() + s.engine.size(), 0);
  uint8_t* p = out->data();
  std::memcpy(p, kSectionMagic, 8);
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(p + 12, header.data(), header.size());
  if (!s.engine.empty()) std::memcpy(p + 12 + header.size(), s.engine.data(), s.engine.size());
}

Status read_section(const std::vector<uint8_t>& bytes, Section* s) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kSectionMagic, 8) != 0) {
    return Status(Code::kPlanCorrupt, "the tensorrt plan section does not start with its magic");
  }
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(bytes[8 + i]) << (8 * i);
  if (n > bytes.size() - 12) return Status(Code::kPlanCorrupt, "the tensorrt plan section is truncated");
  json::Value header;
  if (!json::parse(std::string(bytes.begin() + 12, bytes.begin() + 12 + n), &header).is_ok() || !header.is_object()) {
    return Status(Code::kPlanCorrupt, "the tensorrt plan section's header is not a JSON object");
  }
  int64_t format = 0, version = 0, sm = 0;
  if (!json::get_int(header, "format", "tensorrt plan section", &format).is_ok() ||
      !json::get_int(header, "tensorrtVersion", "tensorrt plan section", &version).is_ok() ||
      !json::get_int(header, "sm", "tensorrt plan section", &sm).is_ok()) {
    return Status(Code::kPlanCorrupt, "the tensorrt plan section lacks its format, TensorRT version or sm");
  }
  if (format != kSectionFormat) {
    return Status(Code::kPlanVersion, "the tensorrt plan section has format " + std::to_string(format) +
                                          "; this build reads format " + std::to_string(kSectionFormat));
  }
  s->format = static_cast<int>(format);
  s->tensorrt_version = static_cast<int>(version);
  s->sm = static_cast<int>(sm);
  (void)json::opt_string(header, "device", "tensorrt plan section",
                         &s->device_name);  // informational: a plan without it loads
  s->engine.assign(bytes.begin() + 12 + n, bytes.end());
  if (s->engine.empty()) return Status(Code::kPlanCorrupt, "the tensorrt plan section holds no engine");
  return Status::ok();
}

using gpu::DeviceBuffer;
using gpu::PinnedBuffer;

class TrtBackendEngine : public Engine {
 public:
  TrtBackendEngine(const Module& m, std::shared_ptr<const Graph> graph, std::shared_ptr<const WeightStore> weights)
      : m_(m), graph_(std::move(graph)), weights_(std::move(weights)) {}
  ~TrtBackendEngine() override { m_.engine_destroy(engine_); }

  /// Picks the GPU; fills section_.sm and the device name.
  Status choose_device(int index) {
    cudaDeviceProp prop{};
    TRTN_TRY(gpu::select_device(index, "tensorrt", &prop));
    device_ = index;
    sm_ = prop.major * 10 + prop.minor;
    device_name_ = prop.name;
    return Status::ok();
  }

  Status build(const BuildInput& in) {
    for (const std::vector<int>* ids : {&graph_->inputs, &graph_->outputs}) {
      for (int t : *ids) {
        if (graph_->tensors[t].host == DType::kFloat16 && graph_->tensors[t].dtype == DType::kFloat32) {
          return Status(Code::kUnsupportedLayer,
                        "tensorrt backend: float16 inputs and outputs (ioFormats) are not mapped to TensorRT "
                        "yet: build '" +
                            graph_->tensors[t].name + "' with float32 I/O, or on the cuda backend");
        }
      }
    }
    TRTN_TRY(choose_device(in.device));
    if (in.graph_json.empty()) return Status(Code::kInternal, "tensorrt backend: build without the graph's JSON");
    std::vector<uint8_t> weights;
    weights_->serialize(&weights);
    uint8_t* bytes = nullptr;
    size_t size = 0;
    const int rc =
        m_.build(in.graph_json.data(), in.graph_json.size(), weights.data(), weights.size(), device_, &bytes, &size);
    if (rc != 0) return m_.failure(rc, "building the TensorRT engine");
    section_.engine.assign(bytes, bytes + size);
    m_.free_bytes(bytes);
    section_.tensorrt_version = m_.library_version;
    return deserialize();
  }

  Status load(const BuildInput& in) {
    TRTN_TRY(read_section(in.backend_section, &section_));
    if (section_.tensorrt_version != m_.library_version) {
      return Status(Code::kPlanVersion,
                    "the plan's TensorRT engine was built with TensorRT " + version_text(section_.tensorrt_version) +
                        " but this machine has TensorRT " + version_text(m_.library_version) +
                        ": a serialized TensorRT engine loads only under the version that built it; "
                        "rebuild the plan here");
    }
    TRTN_TRY(choose_device(in.device));
    if (section_.sm != sm_) {
      return Status(Code::kPlanArch, "the plan's TensorRT engine was built for sm_" + std::to_string(section_.sm) +
                                         " but GPU " + std::to_string(device_) + " (" + device_name_ + ") is sm_" +
                                         std::to_string(sm_) + ": rebuild the engine on this GPU");
    }
    return deserialize();
  }

  Status create_context(std::unique_ptr<Context>* out) override;
  Status serialize_backend(std::vector<uint8_t>* out) const override {
    write_section(section_, out);
    return Status::ok();
  }
  int64_t activation_bytes_per_image() const override {
    return graph_->max_batch > 0 ? m_.engine_device_memory(engine_) / graph_->max_batch : 0;
  }
  const Graph& graph() const override { return *graph_; }
  const WeightStore& weights() const override { return *weights_; }
  std::string info_json() const override {
    json::Writer w;
    // clang-format off
    w.begin_object()
        .key("device").number(device_)
        .key("deviceName").string(device_name_)
        .key("sm").number(sm_)
        .key("tensorrt").string(version_text(m_.library_version))
        .key("tensorrtHeaders").string(version_text(m_.header_version))
        .key("module").string(m_.path)
        .key("engineBytes").number(section_.engine.size())
        .key("deviceMemoryBytes").number(m_.engine_device_memory(engine_))
        .end_object();
    // clang-format on
    return w.text();
  }
  std::shared_ptr<const HostAllocator> host_allocator() const override {
    return std::make_shared<const gpu::PinnedAllocator>(device_);
  }

  const Module& module() const { return m_; }
  trtn_trt_engine* handle() const { return engine_; }
  int device() const { return device_; }

 private:
  Status deserialize() {
    section_.sm = sm_;
    section_.device_name = device_name_;
    std::vector<std::string> in_names, out_names;
    for (int t : graph_->inputs) in_names.push_back(graph_->tensors[t].name);
    for (int t : graph_->outputs) out_names.push_back(graph_->tensors[t].name);
    std::vector<const char*> ins, outs;
    for (const std::string& n : in_names) ins.push_back(n.c_str());
    for (const std::string& n : out_names) outs.push_back(n.c_str());
    const int rc = m_.engine_create(section_.engine.data(), section_.engine.size(), device_, ins.data(),
                                    static_cast<int>(ins.size()), outs.data(), static_cast<int>(outs.size()), &engine_);
    return rc == 0 ? Status::ok() : m_.failure(rc, "deserializing the TensorRT engine");
  }

  const Module& m_;
  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<const WeightStore> weights_;
  Section section_;
  trtn_trt_engine* engine_ = nullptr;
  int device_ = 0, sm_ = 0;
  std::string device_name_;
};

/// A context: the shared GPU run loop (gpu/run_loop.h) moves the inputs and outputs through its
/// staging slots, and TensorRT's enqueueV3 reads and writes the slot's buffers directly.
class TrtBackendContext : public Context, public gpu::DeviceCompute {
 public:
  explicit TrtBackendContext(const TrtBackendEngine* e)
      : e_(e),
        loop_(e->device(), image_bytes(e->graph(), e->graph().inputs), image_bytes(e->graph(), e->graph().outputs)) {}
  ~TrtBackendContext() override {
    cudaSetDevice(e_->device());
    cudaStreamSynchronize(loop_.compute_stream());
    e_->module().context_destroy(context_);
    cudaGetLastError();
  }

  Status init() {
    TRTN_CUDA_TRY(cudaSetDevice(e_->device()));
    TRTN_TRY(loop_.init());
    const int rc = e_->module().context_create(e_->handle(), &context_);
    return rc == 0 ? Status::ok() : e_->module().failure(rc, "creating a TensorRT execution context");
  }

  int depth() const override { return kMaxQueueDepth; }

  Status submit(Inference* inf) override {
    const Graph& g = e_->graph();
    if (inf->stats != nullptr) {
      return Status(Code::kInvalidArgument,
                    "the tensorrt backend does not collect calibration statistics: "
                    "calibrate with the cuda or cpu backend and pass the cache");
    }
    if (inf->batch < 1 || inf->batch > g.max_batch) {
      return Status(Code::kInvalidArgument,
                    "batch " + std::to_string(inf->batch) + " is outside [1, " + std::to_string(g.max_batch) + "]");
    }
    if (inf->io.inputs.size() != g.inputs.size() || inf->io.outputs.size() != g.outputs.size()) {
      return Status(Code::kInvalidArgument, "wrong number of input or output buffers");
    }
    return loop_.submit(inf, *this);
  }
  Status wait(Inference* inf) override { return loop_.wait(inf, *this); }
  bool ready() override { return loop_.ready(); }

  Status enqueue(Inference& inf, int /*slot*/, const std::vector<const void*>& in, const std::vector<void*>& out,
                 cudaStream_t stream) override {
    std::vector<const void*> ins(in);
    std::vector<void*> outs(out);
    const int rc = e_->module().enqueue(context_, inf.batch, ins.data(), static_cast<int>(ins.size()), outs.data(),
                                        static_cast<int>(outs.size()), stream);
    return rc == 0 ? Status::ok() : e_->module().failure(rc, "enqueueV3");
  }

 private:
  static std::vector<size_t> image_bytes(const Graph& g, const std::vector<int>& ids) {
    std::vector<size_t> bytes;
    // A region output (Faster R-CNN) holds rows x one row's volume per image.
    for (int t : ids)
      bytes.push_back(static_cast<size_t>(g.tensors[t].image_volume()) * dtype_bytes(g.tensors[t].host));
    return bytes;
  }

  const TrtBackendEngine* e_;
  gpu::RunLoop loop_;
  trtn_trt_context* context_ = nullptr;
};

Status TrtBackendEngine::create_context(std::unique_ptr<Context>* out) {
  auto ctx = std::make_unique<TrtBackendContext>(this);
  TRTN_TRY(ctx->init());
  *out = std::move(ctx);
  return Status::ok();
}

Status make_engine(const BuildInput& in, bool loading, std::unique_ptr<Engine>* out) {
  std::string why;
  const Module* m = module(&why);
  if (m == nullptr) return Status(Code::kBackendUnavailable, why);
  auto engine = std::make_unique<TrtBackendEngine>(*m, in.graph, in.weights);
  TRTN_TRY(loading ? engine->load(in) : engine->build(in));
  *out = std::move(engine);
  return Status::ok();
}

#else  // !TRTN_WITH_CUDA

Status make_engine(const BuildInput&, bool, std::unique_ptr<Engine>*) {
  std::string why;
  available(&why);
  return Status(Code::kBackendUnavailable, why);
}

#endif

Status build(const BuildInput& in, std::unique_ptr<Engine>* out) { return make_engine(in, false, out); }
Status load(const BuildInput& in, std::unique_ptr<Engine>* out) { return make_engine(in, true, out); }

// mapping.cc (in the separately loaded module) has a case for every OpKind, region layers
// included (TRTN_Node plugins whose outputs hold a row per region); what TensorRT or the cuda
// backend behind a plugin refuses is an E_UNSUPPORTED_LAYER of the build.
bool supports(const Graph&, const Node&, std::string*) { return true; }

std::vector<std::string> ops() { return op_names(); }

const Backend kBackend{"tensorrt", available, build, load, supports, ops};

}  // namespace

const Backend& backend() { return kBackend; }

}  // namespace trtn::tensorrt
