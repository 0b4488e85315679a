// The TRTN_Node plugin (node_plugin.h): one class for TensorRT's three plugin capabilities (core,
// build, runtime) over a cuda op the addon owns, and its creator. The op is created once per plugin
// object made from fields (the network's, or the engine's at deserialization) and shared, with the
// fields and the parsed node, by its clones: TensorRT clones a plugin many times while it builds,
// and once per execution context.
#include "backends/tensorrt/node_plugin.h"

#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "backends/tensorrt/mapping.h"
#include "core/graph.h"

namespace trtn::tensorrt {
namespace {

using nvinfer1::DataType;
using nvinfer1::DimsExprs;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::IExprBuilder;
using nvinfer1::IPluginCapability;
using nvinfer1::IPluginV3;
using nvinfer1::PluginField;
using nvinfer1::PluginFieldCollection;
using nvinfer1::PluginFieldType;
using nvinfer1::PluginTensorDesc;

const trtn_trt_host_ops* host = nullptr;
thread_local std::string errors;

void report(const std::string& what) {
  try {
    errors += (errors.empty() ? "" : " | ") + what;
  } catch (...) {
    // Out of memory while reporting: the failure code still reaches TensorRT.
  }
}

/// The host's Status after a failed call.
Status host_failure(int code, const std::string& node) {
  const char* m = host->last_error != nullptr ? host->last_error() : nullptr;
  return Status(static_cast<Code>(code), "tensorrt backend, node '" + node + "' (run by the cuda backend): " +
                                             (m != nullptr && *m != '\0' ? m : "failed"));
}

/// What a plugin made from fields holds, shared (read-only) by all its clones: the fields, the
/// parsed node and the addon's cuda op (destroyed through the host ops with the last clone).
struct HostNode {
  std::string json;
  std::vector<uint8_t> weights;
  Graph graph;
  int64_t rows0 = 1;  // rows per image of the first input (dimension 0 is images x rows)
  void* op = nullptr;
  HostNode() = default;
  HostNode(const HostNode&) = delete;
  HostNode& operator=(const HostNode&) = delete;
  ~HostNode() {
    if (op != nullptr) host->node_destroy(op);
  }
};

class NodePlugin final : public IPluginV3,
                         public nvinfer1::IPluginV3OneCore,
                         public nvinfer1::IPluginV3OneBuild,
                         public nvinfer1::IPluginV3OneRuntime {
 public:
  explicit NodePlugin(std::shared_ptr<const HostNode> node) : node_(std::move(node)) {}

  /// Parses the node's graph and creates its op on the current device.
  static Status make(std::string graph_json, std::vector<uint8_t> weights, std::unique_ptr<NodePlugin>* out) {
    if (host == nullptr)
      return Status(Code::kBackendUnavailable, "tensorrt backend: the addon has not handed the module its cuda ops");
    auto n = std::make_shared<HostNode>();
    TRTN_TRY(parse_graph(graph_json, &n->graph));
    if (n->graph.nodes.size() != 1)
      return Status(Code::kPlanCorrupt, "tensorrt backend: a TRTN_Node plugin holds one node");
    const Node& node = n->graph.nodes[0];
    n->rows0 = n->graph.tensors[node.inputs[0]].rows;
    const int rc = host->node_create(graph_json.data(), graph_json.size(), weights.data(), weights.size(), &n->op);
    if (rc != 0) return host_failure(rc, node.name);
    n->json = std::move(graph_json);
    n->weights = std::move(weights);
    out->reset(new NodePlugin(std::move(n)));
    return Status::ok();
  }

  // --- IPluginV3 ------------------------------------------------------------------------------
  IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override {
    switch (type) {
      case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
      case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
      case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    }
    return nullptr;
  }
  IPluginV3* clone() noexcept override {
    try {
      return new NodePlugin(node_);
    } catch (...) {
      report("TRTN_Node: out of host memory cloning the plugin");
      return nullptr;
    }
  }

  // --- core -----------------------------------------------------------------------------------
  const char* getPluginName() const noexcept override { return kNodePluginName; }
  const char* getPluginVersion() const noexcept override { return kNodePluginVersion; }
  const char* getPluginNamespace() const noexcept override { return kNodePluginNamespace; }

  // --- build ----------------------------------------------------------------------------------
  int32_t configurePlugin(const DynamicPluginTensorDesc*, int32_t, const DynamicPluginTensorDesc*,
                          int32_t) noexcept override {
    return 0;
  }
  int32_t getOutputDataTypes(DataType* types, int32_t count, const DataType*, int32_t) const noexcept override {
    for (int32_t i = 0; i < count; ++i) types[i] = DataType::kFLOAT;
    return 0;
  }
  /// Each output: the images of input 0 times the output's rows per image (region tensors: a row
  /// per region), then the dims of one row.
  int32_t getOutputShapes(const DimsExprs* inputs, int32_t input_count, const DimsExprs*, int32_t, DimsExprs* outputs,
                          int32_t output_count, IExprBuilder& expr) noexcept override {
    if (input_count < 1 || output_count != static_cast<int32_t>(node_->graph.outputs.size())) return -1;
    for (int32_t i = 0; i < output_count; ++i) {
      const std::vector<int64_t>& dims = node_->graph.tensors[node_->graph.outputs[i]].dims;
      if (dims.size() + 1 > static_cast<size_t>(nvinfer1::Dims::MAX_DIMS)) return -1;
      outputs[i].nbDims = static_cast<int32_t>(dims.size() + 1);
      const int64_t rows = node_->graph.tensors[node_->graph.outputs[i]].rows;
      const nvinfer1::IDimensionExpr* images = inputs[0].d[0];
      if (node_->rows0 != 1)
        images = expr.operation(nvinfer1::DimensionOperation::kFLOOR_DIV, *images, *expr.constant(node_->rows0));
      outputs[i].d[0] = rows == node_->rows0 ? inputs[0].d[0]
                        : rows == 1
                            ? images
                            : expr.operation(nvinfer1::DimensionOperation::kPROD, *images, *expr.constant(rows));
      for (size_t k = 0; k < dims.size(); ++k) outputs[i].d[k + 1] = expr.constant(dims[k]);
    }
    return 0;
  }
  bool supportsFormatCombination(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) noexcept override {
    return io[pos].desc.type == DataType::kFLOAT && io[pos].desc.format == nvinfer1::TensorFormat::kLINEAR;
  }
  int32_t getNbOutputs() const noexcept override { return static_cast<int32_t>(node_->graph.outputs.size()); }
  /// The op's scratch at the largest batch the profile allows.
  size_t getWorkspaceSize(const DynamicPluginTensorDesc* inputs, int32_t input_count, const DynamicPluginTensorDesc*,
                          int32_t) const noexcept override {
    const int64_t batch = input_count > 0 ? inputs[0].max.d[0] / node_->rows0 : node_->graph.max_batch;
    return host->node_workspace(node_->op, static_cast<int>(batch > 0 ? batch : node_->graph.max_batch));
  }

  // --- runtime --------------------------------------------------------------------------------
  int32_t onShapeChange(const PluginTensorDesc*, int32_t, const PluginTensorDesc*, int32_t) noexcept override {
    return 0;
  }
  int32_t enqueue(const PluginTensorDesc* input_desc, const PluginTensorDesc*, const void* const* inputs,
                  void* const* outputs, void* workspace, cudaStream_t stream) noexcept override {
    const int rc = host->node_run(node_->op, static_cast<int>(input_desc[0].dims.d[0] / node_->rows0), inputs, outputs,
                                  workspace, static_cast<void*>(stream));
    if (rc == 0) return 0;
    report(host_failure(rc, node_->graph.nodes[0].name).message());
    return -1;
  }
  IPluginV3* attachToContext(nvinfer1::IPluginResourceContext*) noexcept override { return clone(); }
  const PluginFieldCollection* getFieldsToSerialize() noexcept override {
    fields_[0] =
        PluginField("graph", node_->json.data(), PluginFieldType::kCHAR, static_cast<int32_t>(node_->json.size()));
    fields_[1] = PluginField("weights", node_->weights.data(), PluginFieldType::kINT8,
                             static_cast<int32_t>(node_->weights.size()));
    collection_.nbFields = 2;
    collection_.fields = fields_;
    return &collection_;
  }

 private:
  std::shared_ptr<const HostNode> node_;
  PluginField fields_[2];
  PluginFieldCollection collection_{};
};

class NodePluginCreator final : public nvinfer1::IPluginCreatorV3One {
 public:
  NodePluginCreator() {
    fields_[0] = PluginField("graph", nullptr, PluginFieldType::kCHAR, 0);
    fields_[1] = PluginField("weights", nullptr, PluginFieldType::kINT8, 0);
    names_.nbFields = 2;
    names_.fields = fields_;
  }
  IPluginV3* createPlugin(const char*, const PluginFieldCollection* fc, nvinfer1::TensorRTPhase) noexcept override {
    try {
      std::string graph;
      std::vector<uint8_t> weights;
      for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i) {
        const PluginField& f = fc->fields[i];
        const char* data = static_cast<const char*>(f.data);
        if (std::strcmp(f.name, "graph") == 0) graph.assign(data, data + f.length);
        if (std::strcmp(f.name, "weights") == 0) weights.assign(data, data + f.length);
      }
      std::unique_ptr<NodePlugin> p;
      const Status st = NodePlugin::make(std::move(graph), std::move(weights), &p);
      if (!st.is_ok()) {
        report(st.message());
        return nullptr;
      }
      return p.release();
    } catch (...) {
      report("TRTN_Node: out of host memory creating the plugin");
      return nullptr;
    }
  }
  const PluginFieldCollection* getFieldNames() noexcept override { return &names_; }
  const char* getPluginName() const noexcept override { return kNodePluginName; }
  const char* getPluginVersion() const noexcept override { return kNodePluginVersion; }
  const char* getPluginNamespace() const noexcept override { return kNodePluginNamespace; }

 private:
  PluginField fields_[2];
  PluginFieldCollection names_{};
};

}  // namespace

Status set_host_ops(const trtn_trt_host_ops* ops) {
  if (ops == nullptr || ops->size < sizeof(trtn_trt_host_ops))
    return Status(Code::kInvalidArgument,
                  "tensorrt backend: the addon's host ops are older than this module: rebuild both together");
  static std::once_flag once;
  static bool registered = false;
  host = ops;
  std::call_once(once, [] {
    static NodePluginCreator creator;
    registered = getPluginRegistry()->registerCreator(creator, kNodePluginNamespace);
  });
  if (!registered)
    return Status(Code::kBackendUnavailable,
                  "tensorrt backend: TensorRT's plugin registry refused the TRTN_Node creator");
  return Status::ok();
}

Status make_node_plugin(const std::string& graph_json, std::vector<uint8_t> weights,
                        std::unique_ptr<nvinfer1::IPluginV3>* out) {
  std::unique_ptr<NodePlugin> p;
  TRTN_TRY(NodePlugin::make(graph_json, std::move(weights), &p));
  *out = std::move(p);
  return Status::ok();
}

std::string take_node_plugin_errors() {
  std::string e;
  e.swap(errors);
  return e;
}

}  // namespace trtn::tensorrt
