// What an LRN node means on every backend (Caffe's LRNLayer, float only: docs/int8.md), read from
// the node and checked against its tensors.
//   ACROSS_CHANNELS: scale = k + alpha / size * sum of x^2 over `size` channels centred on c
//                    (zero-padded at the ends); y = x * scale^-beta.
//   WITHIN_CHANNEL:  AVE pooling of x^2 over a size x size window with pad (size - 1) / 2 (dividing
//                    by the pool size, padding included), then y = x * (1 + alpha * avg)^-beta
//                    (Caffe's Power sub-layer has shift 1, so `k` plays no part).
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked LRN node; alpha, beta and k are float32 as Caffe's LRNParameter holds them.
struct LrnParams {
  bool across_channels = true;
  int64_t channels = 0, height = 0, width = 0;
  int64_t size = 1;
  float alpha = 0, beta = 0, k = 1;
};

/// Reads localSize, alpha, beta, k and region; checks one [C, H, W] float32 input and an output
/// of the same shape.
Status read_lrn_params(const OpInit& init, LrnParams* out);

}  // namespace trtn
