#include "core/concat_params.h"

#include <string>

namespace trtn {

Status read_concat_params(const OpInit& init, ConcatParams* out) {
  const size_t n = init.node.inputs.size();
  if (n < 1 || init.node.outputs.size() != 1) return init.error("expects 1 or more inputs and 1 output");
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  int64_t axis = 0;
  TRTN_TRY(init.attr_int("axis", &axis));
  const TensorDesc& y = init.output(0);
  const int64_t rank = static_cast<int64_t>(y.dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return init.error("axis is out of range for a " + std::to_string(rank) + "-D output");
  // Along the batch the output would not keep the batch in dimension 0.
  if (axis == 0) return init.error("cannot concatenate along the batch dimension (axis 0)");
  const size_t a = static_cast<size_t>(axis - 1);  // the axis among the per-image dims

  ConcatParams p;
  p.axis = axis;
  for (size_t d = 0; d < a; ++d) p.rows *= y.dims[d];
  int64_t along = 0;
  p.parts.resize(n);
  const bool int8 = init.node.precision == Precision::kINT8;
  if (int8 && y.dtype == DType::kInt8 && !(y.scale > 0)) return init.error("the int8 output has no scale");
  if (!int8 && y.dtype != DType::kFloat32) return init.error("a float node needs a float32 output");
  int64_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    const TensorDesc& x = init.input(i);
    if (x.dims.size() != y.dims.size()) {
      return init.error("input '" + x.name + "' has a different rank from the output");
    }
    for (size_t d = 0; d < y.dims.size(); ++d) {
      if (d != a && x.dims[d] != y.dims[d]) {
        return init.error("input '" + x.name + "' must match the output outside axis " + std::to_string(axis));
      }
    }
    ConcatPart& part = p.parts[i];
    part.first = along;
    part.along = x.dims[a];
    along += x.dims[a];
    part.row = x.volume / p.rows;
    part.offset = offset;
    offset += part.row;
    if (!int8) {
      if (x.dtype != DType::kFloat32) return init.error("a float node needs float32 inputs; '" + x.name + "' is int8");
      part.mode = ConcatMode::kCopyFloat;
      continue;
    }
    if (x.dtype != DType::kInt8) return init.error("an INT8 node needs int8 inputs; '" + x.name + "' is float32");
    if (y.dtype == DType::kFloat32) {
      part.mode = ConcatMode::kDequantize;
      part.factor = x.scale;
    } else if (x.scale == y.scale) {
      part.mode = ConcatMode::kCopyInt8;
    } else {
      // R_i = float32(s_i / s_y), the division in double (docs/int8.md).
      part.mode = ConcatMode::kRequantize;
      part.factor = static_cast<float>(static_cast<double>(x.scale) / static_cast<double>(y.scale));
    }
  }
  if (along != y.dims[a]) return init.error("the inputs' sizes along the axis do not add up to the output's");
  p.out_row = offset;
  *out = std::move(p);
  return Status::ok();
}

}  // namespace trtn
