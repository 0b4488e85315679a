#include "core/reshape_params.h"

#include <string>

namespace trtn {

Status read_reshape_params(const OpInit& init, ReshapeParams* out) {
  TRTN_TRY(init.expect_io(1, 1));
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  // The shape itself was worked out by the IR (Caffe's rules); only the element count matters here.
  if (x.volume != y.volume) {
    return init.error("input '" + x.name + "' has " + std::to_string(x.volume) + " elements per image but output '" +
                      y.name + "' has " + std::to_string(y.volume));
  }
  ReshapeParams p;
  if (init.node.precision == Precision::kINT8) {
    if (x.dtype != DType::kInt8) return init.error("an INT8 node needs an int8 input");
    if (y.dtype == DType::kInt8) {
      if (y.scale != x.scale) {
        return init.error("an INT8 " + init.node.op + " output keeps its input's scale (" + std::to_string(x.scale) +
                          "), not " + std::to_string(y.scale));
      }
      p.mode = ReshapeMode::kCopyInt8;
    } else {
      p.mode = ReshapeMode::kDequantize;
    }
  } else if (x.dtype != DType::kFloat32 || y.dtype != DType::kFloat32) {
    return init.error("a float node needs float32 tensors");
  }
  p.volume = x.volume;
  p.scale = x.scale;
  *out = p;
  return Status::ok();
}

}  // namespace trtn
