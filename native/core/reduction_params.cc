#include "core/reduction_params.h"

#include <cmath>
#include <string>
#include <vector>

namespace trtn {

Status read_reduction_params(const OpInit& init, ReductionParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  std::string operation;
  int64_t axis = 0;
  double coeff = 0;
  TRTN_TRY(init.attr_string("operation", &operation));
  TRTN_TRY(init.attr_int("axis", &axis));
  TRTN_TRY(init.attr_double("coeff", &coeff));
  ReductionParams p;
  if (operation == "SUM")
    p.op = ReductionOperation::kSum;
  else if (operation == "ASUM")
    p.op = ReductionOperation::kAsum;
  else if (operation == "SUMSQ")
    p.op = ReductionOperation::kSumSq;
  else if (operation == "MEAN")
    p.op = ReductionOperation::kMean;
  else
    return init.error("unknown operation '" + operation + "' (SUM, ASUM, SUMSQ or MEAN)");
  if (!std::isfinite(coeff)) return init.error("coeff must be a finite number");
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (axis == 0) return init.error("cannot reduce across the batch (axis 0)");
  if (axis < 1 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  const size_t a = static_cast<size_t>(axis - 1);
  const std::vector<int64_t> want(x.dims.begin(), x.dims.begin() + a);
  if (y.dims != want) return init.error("the output must keep exactly the dims before the axis");
  for (size_t i = 0; i < a; ++i) p.rows_per_image *= x.dims[i];
  p.dim = x.volume / p.rows_per_image;
  // Caffe holds coeff as a float32 parameter.
  p.coeff = static_cast<float>(coeff);
  *out = p;
  return Status::ok();
}

}  // namespace trtn
