// Op name -> factory, and which ops take View4s (kNHWC tensors and Concat slices).
#include <map>

#include "backends/cuda/op.h"

namespace trtn::cuda {
namespace {

bool attr_equals(const Node& node, const char* key, int64_t want, int64_t fallback) {
  int64_t v = fallback;
  if (node.attrs.has(key) && !json::get_int(node.attrs, key, "", &v).is_ok()) return false;
  return v == want;
}

bool attr_flag(const Node& node, const char* key) {
  bool v = false;
  return node.attrs.has(key) && json::get_bool(node.attrs, key, "", &v).is_ok() && v;
}

}  // namespace

bool op_takes_views(const Graph& graph, const Node& node) {
  size_t rank = 0;
  for (int t : node.inputs) rank = std::max(rank, graph.tensors[t].dims.size());
  for (int t : node.outputs) rank = std::max(rank, graph.tensors[t].dims.size());
  if (rank > 3) return false;
  const std::string& op = node.op;
  if (op == "Convolution") return rank >= 2;  // one or two spatial axes
  if (op == "InnerProduct") return attr_equals(node, "axis", 1, 1);
  if (op == "Pooling" || op == "LRN") return rank == 3;
  if (op == "ReLU" || op == "ELU" || op == "Sigmoid" || op == "TanH" || op == "AbsVal" || op == "Power" ||
      op == "BNLL" || op == "Exp" || op == "Log" || op == "Threshold" || op == "Clip" || op == "Swish" ||
      op == "PReLU" || op == "Eltwise" || op == "Quantize" || op == "Preprocess") {
    return true;
  }
  if (op == "BatchNorm") return attr_flag(node, "useGlobalStats");
  if (op == "Scale" || op == "Bias") {
    return node.inputs.size() == 1 && attr_equals(node, "axis", 1, 1) && attr_equals(node, "numAxes", 1, 1);
  }
  if (op == "Softmax" || op == "Concat") return attr_equals(node, "axis", 1, 1);
  return false;
}

Status make_op(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
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
      {"Embed", make_embed}, {"Quantize", make_quantize}, {"Preprocess", make_preprocess},
  };
  auto it = factories.find(init.node.node.op);
  if (it == factories.end()) return init.node.error("the cuda backend has no such op");
  return it->second(init, out);
}

}  // namespace trtn::cuda
