// What a ShuffleChannel node means on every backend (ShuffleNet's Caffe layer): per image, the C
// channels seen as `group` rows of C / group planes are transposed, so output channel i * group + j
// is input channel j * (C / group) + i; a plane is the volume of the dims after the channels.
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked ShuffleChannel node.
struct ShuffleChannelParams {
  int64_t group = 1;
  int64_t per_group = 1;  // C / group
  int64_t plane = 1;      // values per channel
};

/// Reads group; checks one float input, an output of the same shape, and C a multiple of group.
Status read_shuffle_channel_params(const OpInit& init, ShuffleChannelParams* out);

/// The input channel that output channel `c` copies.
inline int64_t shuffled_source(const ShuffleChannelParams& p, int64_t c) {
  return (c % p.group) * p.per_group + c / p.group;
}

}  // namespace trtn
