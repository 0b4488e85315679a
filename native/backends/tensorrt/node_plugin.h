// The TRTN_Node plugin (a TensorRT IPluginV3): a node TensorRT has no layer for (SSD's
// DetectionOutput, a MAX pooling's argmax mask, max unpooling, plugin layers) run by the addon's
// cuda backend, through the host ops the addon hands the module when it loads it
// (trt_module_abi.h). mapping.cc emits the node as an addPluginV3 call carrying it as a graph of one
// node (core/graph.h write_node_graph); network_builder.cc creates the plugin with the node's
// weights (the store's blobs named after the node). Fields, serialized into the engine: "graph"
// (the JSON) and "weights" (WeightStore bytes). Tensors: float32, linear (NCHW), the batch leading.
// Compiled only into the TensorRT module.
#pragma once

#include <NvInfer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/tensorrt/trt_module_abi.h"
#include "core/status.h"

namespace trtn::tensorrt {

/// Keeps the addon's host ops and registers the plugin's creator with TensorRT's registry (once).
/// kInvalidArgument for a missing or older table; kBackendUnavailable when TensorRT refuses the
/// creator.
Status set_host_ops(const trtn_trt_host_ops* ops);

/// The plugin of one node (the cuda op is created here, on the current device): kBackendUnavailable
/// before set_host_ops, else the host's code and message when the cuda backend cannot run the node.
Status make_node_plugin(const std::string& graph_json, std::vector<uint8_t> weights,
                        std::unique_ptr<nvinfer1::IPluginV3>* out);

/// What TRTN_Node plugins reported on this thread since the last call (TensorRT only sees a
/// failure code from createPlugin and enqueue), and forgotten; "" when nothing.
std::string take_node_plugin_errors();

}  // namespace trtn::tensorrt
