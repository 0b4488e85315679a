#include "core/softmax_params.h"

#include <string>

namespace trtn {

Status read_softmax_params(const OpInit& init, SoftmaxParams* out) {
  TRTN_TRY(init.expect_io(1, 1));
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  if (init.node.precision == Precision::kINT8) return init.error("Softmax has no INT8 form (docs/int8.md)");
  int64_t axis = 0;
  TRTN_TRY(init.attr_int("axis", &axis));
  const TensorDesc& in = init.input(0);
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  // Axes count the batch as dimension 0; a negative axis counts from the end, as in Caffe.
  const int64_t rank = static_cast<int64_t>(in.dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) {
    return init.error("axis is out of range for a " + std::to_string(rank) + "-D input");
  }
  SoftmaxParams p;
  p.axis = axis;
  if (axis > 0) {
    for (int64_t d = 0; d < axis - 1; ++d) p.outer *= in.dims[d];
    p.channels = in.dims[axis - 1];
    for (int64_t d = axis; d < rank - 1; ++d) p.inner *= in.dims[d];
  } else {
    p.over_batch = true;
    p.inner = in.volume;
  }
  *out = p;
  return Status::ok();
}

}  // namespace trtn
