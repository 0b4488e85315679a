// Op name -> factory, and the OpInit helpers every op uses.
#include <map>

#include "backends/cpu/ops/op.h"

namespace trtn::cpu {

std::vector<int64_t> OpInit::input_shape(size_t i, int64_t batch) const {
  std::vector<int64_t> s{batch};
  const auto& d = input(i).dims;
  s.insert(s.end(), d.begin(), d.end());
  return s;
}

std::vector<int64_t> OpInit::output_shape(size_t i, int64_t batch) const {
  std::vector<int64_t> s{batch};
  const auto& d = output(i).dims;
  s.insert(s.end(), d.begin(), d.end());
  return s;
}

Status OpInit::error(const std::string& what) const {
  return Status(Code::kInvalidArgument, "cpu backend, node '" + node.name + "' (" + node.op + "): " + what);
}

Status OpInit::attr_int(const std::string& key, int64_t* out) const {
  return json::get_int(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_double(const std::string& key, double* out) const {
  return json::get_double(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_bool(const std::string& key, bool* out) const {
  return json::get_bool(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_string(const std::string& key, std::string* out) const {
  return json::get_string(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_ints(const std::string& key, std::vector<int64_t>* out) const {
  return json::get_ints(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_doubles(const std::string& key, std::vector<double>* out) const {
  return json::get_doubles(node.attrs, key, "node '" + node.name + "' attrs", out);
}

Status OpInit::expect_io(size_t inputs, size_t outputs) const {
  if (node.inputs.size() != inputs || node.outputs.size() != outputs) {
    return error("expects " + std::to_string(inputs) + " input(s) and " + std::to_string(outputs) + " output(s)");
  }
  return Status::ok();
}

Status OpInit::expect_float(size_t inputs, size_t outputs) const {
  if (node.inputs.size() != inputs || (outputs == 0 ? node.outputs.empty() : node.outputs.size() != outputs)) {
    return error("expects " + std::to_string(inputs) + " input(s) and " +
                 (outputs == 0 ? std::string("1 or more") : std::to_string(outputs)) + " output(s)");
  }
  if (node.precision == Precision::kINT8) return error("has no INT8 form");
  if (node.activation.relu) return error("takes no fused activation");
  for (int t : node.inputs) {
    if (graph.tensors[t].dtype != DType::kFloat32) return error("reads and writes float32 tensors");
  }
  for (int t : node.outputs) {
    if (graph.tensors[t].dtype != DType::kFloat32) return error("reads and writes float32 tensors");
  }
  return Status::ok();
}

Status make_op(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  static const std::map<std::string, OpFactory> factories = {
      {"Convolution", make_convolution}, {"Deconvolution", make_deconvolution},
      {"InnerProduct", make_inner_product}, {"Pooling", make_pooling}, {"LRN", make_lrn},
      {"ReLU", make_activation}, {"ELU", make_activation}, {"Sigmoid", make_activation},
      {"TanH", make_activation}, {"AbsVal", make_activation}, {"Power", make_activation},
      {"BNLL", make_activation}, {"Exp", make_activation}, {"Log", make_activation},
      {"Threshold", make_activation}, {"Clip", make_activation}, {"Swish", make_activation},
      {"PReLU", make_prelu}, {"Softmax", make_softmax}, {"Concat", make_concat}, {"Eltwise", make_eltwise},
      {"BatchNorm", make_channel_affine}, {"Scale", make_channel_affine}, {"Bias", make_channel_affine},
      {"Flatten", make_reshape}, {"Reshape", make_reshape}, {"Slice", make_slice}, {"Crop", make_crop},
      {"Tile", make_tile}, {"ArgMax", make_argmax}, {"Reduction", make_reduction}, {"MVN", make_mvn},
      {"Embed", make_embed}, {"Quantize", make_quantize},
  };
  auto it = factories.find(init.node.op);
  if (it == factories.end()) return init.error("the cpu backend has no such op");
  return it->second(init, out);
}

}  // namespace trtn::cpu
