#include "core/slice_params.h"

#include <string>

namespace trtn {

Status read_slice_params(const OpInit& init, SliceParams* out) {
  TRTN_TRY(init.expect_float(1, 0));
  const TensorDesc& x = init.input(0);
  int64_t axis = 0;
  std::vector<int64_t> points;
  TRTN_TRY(init.attr_int("axis", &axis));
  TRTN_TRY(init.attr_ints("points", &points));
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (axis == 0) return init.error("cannot slice along the batch (axis 0)");
  if (axis < 1 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  const size_t a = static_cast<size_t>(axis - 1);  // the axis among the per-image dims
  const int64_t dim = x.dims[a];
  if (points.size() + 1 != init.node.outputs.size()) {
    return init.error(std::to_string(init.node.outputs.size()) + " outputs need " +
                      std::to_string(init.node.outputs.size() - 1) + " slice points, got " +
                      std::to_string(points.size()));
  }
  std::vector<int64_t> bounds{0};
  for (int64_t p : points) {
    if (p <= bounds.back() || p >= dim) {
      return init.error("slice points must increase within (0, " + std::to_string(dim) + "); got " + std::to_string(p) +
                        " after " + std::to_string(bounds.back()));
    }
    bounds.push_back(p);
  }
  bounds.push_back(dim);
  SliceParams s;
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    std::vector<int64_t> want = x.dims;
    want[a] = bounds[k + 1] - bounds[k];
    if (init.output(k).dims != want) {
      return init.error("output " + std::to_string(k) + " ('" + init.output(k).name +
                        "') does not have the slice's shape");
    }
    s.starts.push_back(bounds[k]);
    s.sizes.push_back(want[a]);
  }
  s.dim = dim;
  for (size_t i = 0; i < a; ++i) s.outer *= x.dims[i];
  for (size_t i = a + 1; i < x.dims.size(); ++i) s.inner *= x.dims[i];
  *out = std::move(s);
  return Status::ok();
}

}  // namespace trtn
