// The tensorrt backend's pure layer: the execution graph (native/core/graph.h) and its prepared
// weights turned into the list of TensorRT network-definition calls that build it, with every
// precision decision made here (strongly typed FP16 through casts, INT8 through Q/DQ pairs that
// carry our calibration scales, the TF32 flag). Nothing here includes a TensorRT header: the list
// is plain data, so it is unit-tested on machines without TensorRT (test/unit/tensorrt_mapping)
// and replayed against the real API by network_builder.cc where TensorRT is installed.
// docs/tensorrt.md is the table of what each op becomes and where it differs from the cpu backend.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/graph.h"
#include "core/status.h"
#include "core/weights.h"

namespace trtn::tensorrt {

/// The plugin that runs a node TensorRT has no layer for through the addon's cuda backend
/// (node_plugin.h): its name, version and namespace in TensorRT's plugin registry.
constexpr const char* kNodePluginName = "TRTN_Node";
constexpr const char* kNodePluginVersion = "1";
constexpr const char* kNodePluginNamespace = "trtn";

/// Element types as TensorRT's DataType names them (kUInt8: raw image inputs only).
enum class TrtType { kFloat, kHalf, kInt8, kInt32, kInt64, kBool, kUInt8 };

/// "kFLOAT", "kHALF", "kINT8", "kINT32", "kINT64", "kBOOL", "kUINT8".
const char* type_name(TrtType t);

/// One argument of a call: integers, floats, a name (enum value, weights id) or a flag.
struct Arg {
  enum class Kind { kInts, kFloats, kName, kBool } kind = Kind::kInts;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::string name;
  bool flag = false;

  static Arg of_ints(std::vector<int64_t> v);
  static Arg of_int(int64_t v) { return of_ints({v}); }
  static Arg of_floats(std::vector<double> v);
  static Arg of_float(double v) { return of_floats({v}); }
  static Arg of_name(std::string v);
  static Arg of_bool(bool v);
};

/// A weights payload that calls refer to by id: a prepared blob of the WeightStore (converted to
/// `type` when the network is built), or values worked out here.
struct WeightsDesc {
  std::string id;
  TrtType type = TrtType::kFloat;
  std::vector<int64_t> dims;
  std::string blob;            // non-empty: the WeightStore blob holding the values
  std::vector<double> values;  // otherwise: the values themselves, row-major
  int64_t count() const { return volume_of(dims); }
};

/// One call on INetworkDefinition (or, for "markOutput", on the network's outputs). `inputs`
/// follow TensorRT's input indexes: an empty name leaves that input unset (setInput is called for
/// every later non-empty one, such as a dequantized kernel at index 1 of a convolution or a
/// computed size at index 2 of a slice). `outputs` name getOutput(i). Setters of the new layer
/// (setStrideNd, setPrePadding ...) are folded into `args` under their TensorRT meaning.
struct Call {
  std::string method;
  std::string layer;  // name given to the ILayer
  std::string node;   // the graph node it implements ("" for network inputs and outputs)
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::pair<std::string, Arg>> args;

  /// The argument of that key, or nullptr.
  const Arg* arg(const std::string& key) const;
};

/// Everything the builder needs besides the weights' values.
struct NetworkPlan {
  /// Always true: FP16 and INT8 come from the network's types (casts, Q/DQ), never from builder
  /// precision flags (TensorRT 11 has no weakly typed networks).
  bool strongly_typed = true;
  /// BuilderFlag::kTF32: set for tf32 engines, cleared for strict fp32 (TensorRT sets it by default).
  bool tf32 = false;
  /// The type the network computes in between inputs and outputs (kHALF for fp16).
  TrtType compute_type = TrtType::kFloat;
  /// Optimization profile of the batch: min 1, opt and max maxBatchSize.
  int max_batch = 1;
  std::vector<WeightsDesc> weights;
  std::vector<Call> calls;

  const WeightsDesc* find_weights(const std::string& id) const;
};

/// Maps `graph` (checked by parse_graph) and its prepared `weights` to a NetworkPlan. Errors:
/// kUnsupportedLayer naming the node and op for what TensorRT cannot express (a MAX pooling mask
/// output, convolutions over more than 3 spatial axes ...); kInvalidArgument where the node's own
/// checks (core/*_params) fail.
Status map_network(const Graph& graph, const WeightStore& weights, NetworkPlan* out);

/// The plan as JSON: {strongly_typed, tf32, compute_type, max_batch, weights: [{id, type, dims,
/// blob | values}], calls: [{method, layer, node, inputs, outputs, args: {key: value}}]}. Values
/// of weights longer than `max_values` are left out (their count stays). Compact, written with
/// json::Writer (a non-finite float, which no mapping makes, would be written as null).
std::string plan_to_json(const NetworkPlan& plan, size_t max_values = 64);

}  // namespace trtn::tensorrt
