#include "core/quantize_params.h"

namespace trtn {

Status read_quantize_params(const OpInit& init, QuantizeParams* out) {
  TRTN_TRY(init.expect_io(1, 1));
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  if (x.dtype != DType::kFloat32) return init.error("needs a float32 input");
  if (y.dtype != DType::kInt8 || !(y.scale > 0)) return init.error("needs an int8 output with a scale > 0");
  if (x.volume != y.volume) return init.error("input and output must have the same number of elements");
  out->volume = x.volume;
  out->scale = y.scale;
  return Status::ok();
}

}  // namespace trtn
