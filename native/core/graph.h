// The execution graph in C++: parsed from the JSON that lib/builder/exec_graph.ts writes (and
// plan files store), and checked before any backend sees it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/op_kind.h"
#include "core/status.h"

namespace trtn {

/// Storage type of a tensor. kInt8 is quantized (real = q * scale); kUInt8 is raw 8-bit image data,
/// on graph inputs only (a Preprocess node turns it into floats); kFloat16 is only a host form
/// (TensorDesc::host): the form a float32 input or output crosses between host and device in.
enum class DType { kFloat32, kInt8, kUInt8, kFloat16 };

/// Bytes of one element.
int dtype_bytes(DType t);
/// "float32", "int8", "uint8", "float16".
const char* dtype_name(DType t);

/// Precision a node computes in (docs/int8.md and docs/engine.md define each).
enum class Precision { kFP32, kTF32, kFP16, kINT8 };

const char* precision_name(Precision p);

/// One tensor: dimensions of one image (the batch is chosen at run time and leads every shape).
struct TensorDesc {
  std::string name;
  std::vector<int64_t> dims;
  DType dtype = DType::kFloat32;
  float scale = 0.0f;  // int8 tensors: real value = q * scale
  int64_t volume = 1;  // elements per image (region tensors: per row)
  /// Rows per image: 1, or R for Faster R-CNN's region tensors (dimension 0 is batch x R; dims are
  /// one row's). A node runs on batch x the rows of its first input (docs/network.md).
  int64_t rows = 1;
  /// Elements of one image: volume x rows.
  int64_t image_volume() const { return volume * rows; }
  /// Inputs and outputs: the form the host hands or receives (JSON "hostDtype"): the dtype itself,
  /// or kFloat16 for a float32 tensor that crosses as float16 (converted on the device).
  DType host = DType::kFloat32;
  /// Holds integer indices (a MAX pooling's mask: input plane positions): float32 in every
  /// precision, never rounded to float16 (whose integers are exact only to 2048). Set by
  /// parse_graph from the node that writes it.
  bool indices = false;
};

/// A per-channel affine layer folded into a GEMM node (BatchNorm, Scale, Bias).
struct Fold {
  std::string type;  // "BatchNorm" | "Scale" | "Bias"
  std::string layer;
  double eps = 0;            // BatchNorm
  bool bias_term = false;    // Scale
  std::vector<int> weights;  // weight ids
};

/// An activation fused into a node's epilogue.
struct Activation {
  bool relu = false;
  float negative_slope = 0.0f;
};

/// One node.
struct Node {
  std::string name;
  std::string op;
  /// op as its OpKind, resolved once by parse_graph.
  OpKind kind = OpKind::kConvolution;
  std::vector<int> inputs;
  std::vector<int> outputs;
  json::Value attrs;         // the IR layer's attributes
  std::vector<int> weights;  // weight ids, blob order
  Precision precision = Precision::kFP32;
  std::vector<Fold> fold;
  Activation activation;
};

/// A raw weight blob as the network gives it.
struct WeightDesc {
  std::string name;
  std::vector<int64_t> dims;
  int64_t volume = 1;
};

/// The whole graph.
struct Graph {
  std::string name;
  Precision precision = Precision::kFP32;
  int max_batch = 1;
  std::vector<TensorDesc> tensors;
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::vector<Node> nodes;
  std::vector<WeightDesc> weights;
};

/// Parses and checks a graph: ids in range, each tensor written once (inputs never), nodes in
/// order, positive dimensions, int8 tensors with a positive scale, known ops, uint8 tensors read
/// only by Preprocess nodes. kInvalidArgument
/// (or kParse for malformed JSON) naming what is wrong.
Status parse_graph(const std::string& json_text, Graph* out);

/// One node of `graph` as an execution graph of its own (the JSON parse_graph reads): its inputs
/// are the graph's inputs and its outputs the graph's outputs, in the node's order; every tensor
/// float32 and every precision fp32 (what a backend that hands the node float32 buffers runs);
/// the node's weights keep their descriptions (the blobs stay named after the node). Used by the
/// tensorrt backend to run a node through the cuda backend (node_plugin.h).
Status write_node_graph(const Graph& graph, const Node& node, std::string* out);

/// Rows a node runs on per image: its first input's (1, or R over region tensors). Every backend
/// runs a node on batch x these rows (parse_graph keeps max_batch x rows below 2^31).
inline int64_t node_rows(const Graph& graph, const Node& node) {
  return node.inputs.empty() ? 1 : graph.tensors[node.inputs[0]].rows;
}

/// The ops the execution graph may hold (core/op_kind.h TRTN_OPS).
bool is_known_op(const std::string& op);

/// Elements of a shape.
int64_t volume_of(const std::vector<int64_t>& dims);

}  // namespace trtn
