// The cuda op of a one-node execution graph on raw device buffers (single_node.h): the graph is
// checked for the shape the TensorRT module's TRTN_Node plugin hands (one node between the graph's
// inputs and outputs, float32 only), every tensor placed as the cuda planner places a kLinear
// tensor (chw_of), the GPU described as a cuda engine describes it (open_device), and the op made
// through the backend's op table after the backend's own check of the node.
#include "backends/cuda/single_node.h"

#include <algorithm>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/index_range.h"
#include "backends/cuda/planner.h"
#include "core/backend.h"

namespace trtn::cuda {
namespace {

Status bad(const std::string& what) { return Status(Code::kInvalidArgument, "cuda node op: " + what); }

/// The graph's inputs with duplicates removed, in first-read order, as core/graph.h
/// write_node_graph lists a node's inputs.
std::vector<int> distinct(const std::vector<int>& ids) {
  std::vector<int> out;
  for (int t : ids) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

/// What the bridge can hand: one node between the graph's inputs and outputs, float32 tensors
/// (region tensors, rows per image > 1, included: Faster R-CNN's region layers).
Status check_shape(const Graph& g) {
  if (g.nodes.size() != 1) {
    return bad("the graph '" + g.name + "' has " + std::to_string(g.nodes.size()) + " nodes; exactly one is run");
  }
  const Node& node = g.nodes[0];
  const std::string where = "node '" + node.name + "' (" + node.op + ")";
  if (distinct(node.inputs) != g.inputs) return bad(where + ": its inputs are not the graph's inputs in order");
  if (node.outputs != g.outputs) return bad(where + ": its outputs are not the graph's outputs in order");
  for (const TensorDesc& t : g.tensors) {
    if (t.dtype != DType::kFloat32) {
      return bad(where + ": tensor '" + t.name + "' is " + dtype_name(t.dtype) + "; only float32 tensors are run");
    }
  }
  return Status::ok();
}

/// Every tensor float32, kLinear, its own root, [C, H, W] as the planner gives a kLinear tensor.
std::vector<Place> linear_places(const Graph& g) {
  std::vector<Place> places(g.tensors.size());
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    Place& p = places[t];
    p.root = static_cast<int>(t);
    p.elem = Elem::kF32;
    p.layout = Layout::kLinear;
    chw_of(g.tensors[t], &p);
    p.root_c = p.c;
    p.c_write = p.c;
    p.rows = g.tensors[t].rows;
  }
  return places;
}

}  // namespace

SingleNode::~SingleNode() {
  if (!op_) return;
  int current = -1;
  const bool known = cudaGetDevice(&current) == cudaSuccess;
  cudaSetDevice(props_.index);
  op_.reset();
  if (known) cudaSetDevice(current);
  cudaGetLastError();
}

size_t SingleNode::workspace_bytes(int batch) const {
  if (batch < 1 || batch > graph_.max_batch) return 0;
  return op_->workspace_bytes(static_cast<int>(batch * node_rows(graph_, graph_.nodes[0])));
}

Status SingleNode::run(int batch, const void* const* inputs, void* const* outputs, void* workspace,
                       cudaStream_t stream) const {
  if (batch < 1 || batch > graph_.max_batch) {
    return bad("batch " + std::to_string(batch) + " is outside [1, " + std::to_string(graph_.max_batch) + "]");
  }
  const Node& node = graph_.nodes[0];
  std::vector<View4> in, out;
  in.reserve(node.inputs.size());
  out.reserve(node.outputs.size());
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    void* base = const_cast<void*>(inputs[k]);  // the op only reads its inputs
    if (base == nullptr) return bad("input buffer " + std::to_string(k) + " is null");
    in.push_back(places_[node.inputs[k]].view(base, batch));
  }
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (outputs[k] == nullptr) return bad("output buffer " + std::to_string(k) + " is null");
    out.push_back(places_[node.outputs[k]].view(outputs[k], batch));
  }
  if (workspace == nullptr && workspace_bytes(batch) > 0) {
    return bad("node '" + node.name + "' needs " + std::to_string(workspace_bytes(batch)) +
               " bytes of workspace but got none");
  }
  // Views of `batch` images (batch x rows items each); the op runs on batch x its first input's rows.
  return op_->run(RunArgs{static_cast<int>(batch * node_rows(graph_, node)), in, out, stream, workspace});
}

Status make_single_node(const std::string& graph_json, const uint8_t* weights, size_t weights_size,
                        std::unique_ptr<SingleNode>* out) {
  auto n = std::make_unique<SingleNode>();
  TRTN_TRY(parse_graph(graph_json, &n->graph_));
  TRTN_TRY(check_shape(n->graph_));
  // The bridge hands float32 buffers whatever the surrounding engine's precision.
  n->graph_.precision = Precision::kFP32;
  n->graph_.nodes[0].precision = Precision::kFP32;
  if (weights_size > 0) {
    const Status st = WeightStore::deserialize(weights, weights_size, &n->weights_);
    if (!st.is_ok()) return Status(st.code(), "cuda node op: the node's weights: " + st.message());
  }
  TRTN_TRY(check_supported(backend(), n->graph_));
  TRTN_TRY(check_index_range(index_range(n->graph_), n->graph_.max_batch, "maxBatchSize"));
  int device = 0;
  TRTN_CUDA_TRY(cudaGetDevice(&device));
  TRTN_TRY(open_device(device, &n->props_, nullptr));
  n->places_ = linear_places(n->graph_);
  const Node& node = n->graph_.nodes[0];
  const CudaOpInit init{OpInit{n->graph_, node, n->weights_, "cuda"}, n->places_, n->props_};
  TRTN_TRY(make_op(init, &n->op_));
  *out = std::move(n);
  return Status::ok();
}

}  // namespace trtn::cuda
