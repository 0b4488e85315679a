#include "core/argmax_params.h"

#include <string>
#include <vector>

namespace trtn {

Status read_argmax_params(const OpInit& init, ArgMaxParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  ArgMaxParams p;
  TRTN_TRY(init.attr_int("topK", &p.top_k));
  TRTN_TRY(init.attr_bool("outMaxVal", &p.out_max_val));
  if (p.top_k < 1) return init.error("topK must be >= 1, got " + std::to_string(p.top_k));
  const json::Value* axis_attr = init.node.attrs.get("axis");
  if (axis_attr == nullptr || axis_attr->is_null()) {
    if (p.top_k > x.volume) {
      return init.error("topK " + std::to_string(p.top_k) + " is larger than the " + std::to_string(x.volume) +
                        " values per image");
    }
    if (y.volume != p.top_k * (p.out_max_val ? 2 : 1)) {
      return init.error("the output needs " + std::to_string(p.out_max_val ? 2 : 1) + " x topK values per image");
    }
    p.dim = x.volume;
    *out = p;
    return Status::ok();
  }
  int64_t axis = 0;
  TRTN_TRY(init.attr_int("axis", &axis));
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (axis == 0) return init.error("cannot take the top values across the batch (axis 0)");
  if (axis < 1 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  const size_t a = static_cast<size_t>(axis - 1);
  if (p.top_k > x.dims[a]) {
    return init.error("topK " + std::to_string(p.top_k) + " is larger than axis " + std::to_string(axis) + " (" +
                      std::to_string(x.dims[a]) + ")");
  }
  std::vector<int64_t> want = x.dims;
  want[a] = p.top_k;
  if (y.dims != want) return init.error("the output does not have the input's shape with topK along the axis");
  p.has_axis = true;
  p.dim = x.dims[a];
  for (size_t i = 0; i < a; ++i) p.outer *= x.dims[i];
  for (size_t i = a + 1; i < x.dims.size(); ++i) p.stride *= x.dims[i];
  *out = p;
  return Status::ok();
}

}  // namespace trtn
