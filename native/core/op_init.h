// What an op factory of any backend sees: the node, its tensors and the prepared weights, with
// checked attribute readers. Shared by the cpu and cuda backends so both read a node the same way
// and report the same errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/status.h"
#include "core/weights.h"

namespace trtn {

/// What a factory sees: the node, its tensors and the prepared weights.
struct OpInit {
  const Graph& graph;
  const Node& node;
  const WeightStore& weights;
  const char* backend = "cpu";  // names the backend in errors

  const TensorDesc& input(size_t i) const { return graph.tensors[node.inputs[i]]; }
  const TensorDesc& output(size_t i) const { return graph.tensors[node.outputs[i]]; }
  /// Full shape of input i at `batch`: [batch, dims...].
  std::vector<int64_t> input_shape(size_t i, int64_t batch = 1) const;
  std::vector<int64_t> output_shape(size_t i, int64_t batch = 1) const;
  /// The prepared blob "<node>/<suffix>", or nullptr.
  const Blob* blob(const std::string& suffix) const { return weights.find(node.name + "/" + suffix); }
  /// kInvalidArgument naming the node and op.
  Status error(const std::string& what) const;
  /// Attribute readers; a missing or mistyped attribute is an error naming the node.
  Status attr_int(const std::string& key, int64_t* out) const;
  Status attr_double(const std::string& key, double* out) const;
  Status attr_bool(const std::string& key, bool* out) const;
  Status attr_string(const std::string& key, std::string* out) const;
  Status attr_ints(const std::string& key, std::vector<int64_t>* out) const;
  Status attr_doubles(const std::string& key, std::vector<double>* out) const;
  /// Checks the number of inputs and outputs.
  Status expect_io(size_t inputs, size_t outputs) const;
  /// For float-only ops: `inputs` inputs and `outputs` outputs (0: one or more), float32 each, no
  /// INT8 precision, no fused activation.
  Status expect_float(size_t inputs, size_t outputs) const;
};

/// "[a, b, c]".
std::string dims_text(const std::vector<int64_t>& dims);

}  // namespace trtn
