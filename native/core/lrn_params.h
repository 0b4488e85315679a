// What an LRN node means on every backend (Caffe's LRNLayer), read from the node and checked
// against its tensors. In INT8 (docs/int8.md) the input is int8 (x = float(q) * s_x), the
// arithmetic float32 as below, and the output int8 (q = saturate(y / s_y)) or float32.
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
  float in_scale = 0;   // INT8: s_x (the input is int8); 0 for a float input
  float out_scale = 0;  // INT8 with an int8 output: s_y; 0 for a float output
};

/// Reads localSize, alpha, beta, k and region; checks one [C, H, W] input (float32, or int8 in an
/// INT8 node) and an output of the same shape.
Status read_lrn_params(const OpInit& init, LrnParams* out);

}  // namespace trtn
