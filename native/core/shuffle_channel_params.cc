#include "core/shuffle_channel_params.h"

#include <string>

namespace trtn {

Status read_shuffle_channel_params(const OpInit& init, ShuffleChannelParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  int64_t group = 0;
  TRTN_TRY(init.attr_int("group", &group));
  if (x.dims.empty()) return init.error("needs an input with channels (N x C x ...)");
  if (y.dims != x.dims) return init.error("the output does not have the input's shape");
  const int64_t channels = x.dims[0];
  if (group < 1) return init.error("group must be >= 1, got " + std::to_string(group));
  if (channels % group != 0) {
    return init.error("the " + std::to_string(channels) + " channels do not split into " + std::to_string(group) +
                      " groups");
  }
  ShuffleChannelParams p;
  p.group = group;
  p.per_group = channels / group;
  for (size_t i = 1; i < x.dims.size(); ++i) p.plane *= x.dims[i];
  *out = p;
  return Status::ok();
}

}  // namespace trtn
