#include "core/prelu_params.h"

#include <string>

namespace trtn {

Status read_prelu_params(const OpInit& init, PReluParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  if (x.dims.empty()) return init.error("needs at least (N, C) dimensions");
  if (init.output(0).dims != x.dims) return init.error("the output must have the input's shape");
  bool shared = false;
  TRTN_TRY(init.attr_bool("channelShared", &shared));
  const Blob* blob = init.blob("0");
  if (blob == nullptr || blob->dtype != DType::kFloat32) {
    return init.error("needs its float32 slope blob '" + init.node.name + "/0'");
  }
  const int64_t channels = x.dims[0];
  const int64_t want = shared ? 1 : channels;
  if (blob->volume() != want) {
    return init.error(std::string(shared ? "a shared slope is one value" : "needs one slope per channel") +
                      ": expected " + std::to_string(want) + " values, the blob has " + std::to_string(blob->volume()));
  }
  out->slopes = shared ? std::vector<float>(channels, blob->f32[0]) : blob->f32;
  out->channels = channels;
  out->inner = x.volume / channels;
  return Status::ok();
}

}  // namespace trtn
