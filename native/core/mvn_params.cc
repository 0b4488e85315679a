#include "core/mvn_params.h"

#include <cmath>

namespace trtn {

Status read_mvn_params(const OpInit& init, MvnParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  if (x.dims.empty()) return init.error("needs at least (N, C) dimensions");
  if (y.dims != x.dims) return init.error("the output must have the input's shape");
  bool normalize_variance = false, across_channels = false;
  double eps = 0;
  TRTN_TRY(init.attr_bool("normalizeVariance", &normalize_variance));
  TRTN_TRY(init.attr_bool("acrossChannels", &across_channels));
  TRTN_TRY(init.attr_double("eps", &eps));
  if (!std::isfinite(eps) || eps < 0) return init.error("eps must be a finite number >= 0");
  MvnParams p;
  p.rows_per_image = across_channels ? 1 : x.dims[0];
  p.dim = x.volume / p.rows_per_image;
  p.normalize_variance = normalize_variance;
  // Caffe holds eps as a float32 parameter.
  p.eps = static_cast<float>(eps);
  *out = p;
  return Status::ok();
}

}  // namespace trtn
