// Op name -> factory.
#include <map>

#include "backends/cpu/ops/op.h"

namespace trtn::cpu {

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
      {"Embed", make_embed}, {"Quantize", make_quantize}, {"Preprocess", make_preprocess},
  };
  auto it = factories.find(init.node.op);
  if (it == factories.end()) return init.error("the cpu backend has no such op");
  return it->second(init, out);
}

}  // namespace trtn::cpu
