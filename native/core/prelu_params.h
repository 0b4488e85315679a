// What a PReLU node means on every backend (Caffe's PReLULayer): y = x > 0 ? x : slope[c] * x,
// one learned slope per channel (dimension 1 of the full shape) or one shared by every channel.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked PReLU node.
struct PReluParams {
  std::vector<float> slopes;  // one per channel (a shared slope is repeated)
  int64_t channels = 0;
  int64_t inner = 1;  // values per channel plane
};

/// Reads channelShared and the slope blob "<node>/0"; checks a float32 input of at least (N, C)
/// and an output of its shape.
Status read_prelu_params(const OpInit& init, PReluParams* out);

}  // namespace trtn
