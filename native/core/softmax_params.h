// What a Softmax node means on every backend (Caffe's SoftmaxLayer, float only): along one axis,
// y = exp(x - max) / sum(exp(x - max)), the max taken along the axis first.
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked Softmax node: the full tensor seen as [outer, channels, inner] around the axis.
struct SoftmaxParams {
  int64_t axis = 1;         // counted with the batch as dimension 0, never negative
  bool over_batch = false;  // axis 0: the channels are the batch, outer = 1, inner = the volume
  int64_t outer = 1;        // elements before the axis within one image (times the batch)
  int64_t channels = 1;     // along the axis (the batch when over_batch)
  int64_t inner = 1;        // elements after the axis
};

/// Reads axis (negative counts from the end) and checks one float32 input and an output of its
/// shape.
Status read_softmax_params(const OpInit& init, SoftmaxParams* out);

}  // namespace trtn
