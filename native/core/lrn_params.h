// What an LRN node means on every backend (Caffe's LRNLayer), read from the node and checked
// against its tensors. In INT8 (docs/int8.md) the input is int8 (x = float(q) * s_x), the
// arithmetic float32 as below, and the output int8 or float32; ACROSS_CHANNELS sums the integer
// squares exactly there (LrnInt8 below).
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

/// The float32 constants of an INT8 ACROSS_CHANNELS LRN (docs/int8.md), computed once on the host
/// so that every backend holds the same bits:
///   S = sum of q^2 over the window (an exact integer; float(S) rounds to nearest past 2^24),
///   scale = k + sq_scale * float(S),
///   f = scale^-beta; an int8 output stores saturate((float(q) * out_factor) * f), a float output
///   (float(q) * s_x) * f. Each * and + is one float32 rounding.
struct LrnInt8 {
  float sq_scale = 0;    // (alpha / size) * (s_x * s_x)
  float out_factor = 0;  // s_x / s_y (0 for a float output)
};
LrnInt8 lrn_int8(const LrnParams& p);

/// Reads localSize, alpha, beta, k and region; checks one [C, H, W] input (float32, or int8 in an
/// INT8 node) and an output of the same shape.
Status read_lrn_params(const OpInit& init, LrnParams* out);

}  // namespace trtn
