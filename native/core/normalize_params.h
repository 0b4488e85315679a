// What a Normalize node means on every backend (SSD's Caffe, `norm_param`): per image, the values
// are divided by norm = sqrt(sum of squares + eps), the sum over all C x plane values
// (across_spatial) or over the C channels of each position, then multiplied by scale[c] (one
// learned value per channel, or one shared).
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked Normalize node.
struct NormalizeParams {
  bool across_spatial = true;
  float eps = 1e-10f;
  int64_t channels = 1;
  int64_t plane = 1;         // values per channel
  std::vector<float> scale;  // one per channel (a shared scale is repeated)
};

/// Reads acrossSpatial, channelShared, eps and the scale blob "<node>/0"; checks one float input of
/// at least (N, C) and an output of its shape.
Status read_normalize_params(const OpInit& init, NormalizeParams* out);

}  // namespace trtn
