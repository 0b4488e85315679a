// One node run by the cuda backend's op on raw device buffers: what the addon lends the TensorRT
// module (trt_module_abi.h trtn_trt_host_ops) for the nodes TensorRT has no layer for (SSD's
// DetectionOutput, max unpooling, plugin layers). The node comes as an execution graph of its own
// (core/graph.h write_node_graph): one node, its inputs the graph's inputs and its outputs the
// graph's outputs, every tensor float32 in dense NCHW, batch-major. No planner, arena or tuning:
// each tensor is its own kLinear root at the address the caller gives, and the op keeps the tactic
// it selects by default.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/op.h"
#include "core/graph.h"
#include "core/status.h"
#include "core/weights.h"

namespace trtn::cuda {

/// The op of a one-node execution graph, created on one GPU. Owns the graph, the weights and the op
/// (with the device memory it uploaded); not movable, because the op may keep references to them.
class SingleNode {
 public:
  SingleNode() = default;
  SingleNode(const SingleNode&) = delete;
  SingleNode& operator=(const SingleNode&) = delete;
  /// Frees the op's device memory on its own GPU, then makes the caller's device current again.
  ~SingleNode();

  /// Bytes of device scratch memory a run of `batch` images needs (0 outside 1..maxBatchSize).
  size_t workspace_bytes(int batch) const;
  /// Enqueues `batch` images on `stream`: `inputs` one dense NCHW float32 device buffer per node
  /// input, in the node's order (a tensor it reads twice comes twice, as TensorRT hands a plugin
  /// its inputs; a region tensor holds batch x rows items), `outputs` one per node output,
  /// `workspace` workspace_bytes(batch) bytes (may be null when that is 0). kInvalidArgument for a batch
  /// outside 1..maxBatchSize or a null buffer; the op's launch errors (kCuda) otherwise.
  Status run(int batch, const void* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) const;

  const Graph& graph() const { return graph_; }
  /// The GPU the op lives on.
  int device() const { return props_.index; }

 private:
  friend Status make_single_node(const std::string& graph_json, const uint8_t* weights, size_t weights_size,
                                 std::unique_ptr<SingleNode>* out);

  Graph graph_;
  WeightStore weights_;
  DeviceProps props_;
  std::vector<Place> places_;   // per tensor: float32, kLinear, its own root
  std::unique_ptr<CudaOp> op_;  // last: destroyed first, while graph_ and weights_ live
};

/// Creates the op of the only node of `graph_json` (an execution graph as core/graph.h parses it)
/// with its prepared weights (WeightStore::serialize's bytes; none: `weights_size` 0) on the current
/// CUDA device. kInvalidArgument, naming what is wrong, for a graph of other than one node, a node
/// whose (distinct) inputs are not the graph's inputs in order or whose outputs are not its
/// outputs, or a tensor that is not float32; kUnsupportedLayer for a node the
/// cuda backend refuses; kNoDevice for a GPU it cannot use; the op's own errors.
Status make_single_node(const std::string& graph_json, const uint8_t* weights, size_t weights_size,
                        std::unique_ptr<SingleNode>* out);

}  // namespace trtn::cuda
