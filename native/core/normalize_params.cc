#include "core/normalize_params.h"

#include <cmath>
#include <string>

namespace trtn {

Status read_normalize_params(const OpInit& init, NormalizeParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  if (x.dims.empty()) return init.error("needs at least (N, C) dimensions");
  if (init.output(0).dims != x.dims) return init.error("the output must have the input's shape");
  bool across = true, shared = true;
  double eps = 0;
  TRTN_TRY(init.attr_bool("acrossSpatial", &across));
  TRTN_TRY(init.attr_bool("channelShared", &shared));
  TRTN_TRY(init.attr_double("eps", &eps));
  if (!std::isfinite(eps) || eps < 0) return init.error("eps must be a finite value >= 0");
  const Blob* blob = init.blob("0");
  if (blob == nullptr || blob->dtype != DType::kFloat32) {
    return init.error("needs its float32 scale blob '" + init.node.name + "/0'");
  }
  const int64_t channels = x.dims[0];
  const int64_t want = shared ? 1 : channels;
  if (blob->volume() != want) {
    return init.error(std::string(shared ? "a shared scale is one value" : "needs one scale per channel") +
                      ": expected " + std::to_string(want) + " values, the blob has " + std::to_string(blob->volume()));
  }
  NormalizeParams p;
  p.across_spatial = across;
  p.eps = static_cast<float>(eps);
  p.channels = channels;
  p.plane = x.volume / channels;
  p.scale = shared ? std::vector<float>(static_cast<size_t>(channels), blob->f32[0]) : blob->f32;
  *out = p;
  return Status::ok();
}

}  // namespace trtn
