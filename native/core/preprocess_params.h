// What a Preprocess node means on every backend: raw image bytes in, the network's input out, with
// Caffe's test-phase DataTransformer semantics (docs/engine.md, "Input formats"). The input is
// uint8 [H_in, W_in, C] per image (interleaved pixels, as decoders give them); the output is
// [C, H, W] (float32, or int8 when the engine's first INT8 layer reads it and the Quantize is
// fused in). Output element (c, h, w), with h' = h + h_off and w' = w + w_off (the centre crop):
//   x = float(image[h', w', swap ? C - 1 - c : c])
//   y = (x - mean) * scale            (float32: a subtraction, then a multiplication)
// mean is mean[c] (per channel) or mean[(c * H_in + h') * W_in + w'] (a mean file: per pixel, in
// the network's channel order, over the uncropped image); an int8 output is saturate(y / s_y).
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked Preprocess node.
struct PreprocessParams {
  int64_t in_h = 0, in_w = 0, channels = 0;  // the image [H_in, W_in, C]
  int64_t out_h = 0, out_w = 0;              // the network input [C, H, W]
  int64_t h_off = 0, w_off = 0;              // the crop's first row and column
  bool swap = false;                         // output channel c reads image channel C - 1 - c
  float scale = 1.0f;
  bool mean_per_pixel = false;
  /// C values (per channel), or C * H_in * W_in (per pixel, [C, H_in, W_in]).
  std::vector<float> mean;
  bool quantize = false;   // int8 output
  float out_scale = 0.0f;  // its s_y
};

/// Most channels an image input may have (gray, RGB / BGR, RGBA).
constexpr int64_t kMaxImageChannels = 4;

/// Reads swapChannels, offset ([h_off, w_off]), scale and mean (C values, or none with a mean blob
/// "<node>/0" of [C, H_in, W_in]); checks a uint8 [H_in, W_in, C] input (1 <= C <= 4), a float32
/// or int8 [C, H, W] output, the crop window inside the image, a swap only with 3 channels.
Status read_preprocess_params(const OpInit& init, PreprocessParams* out);

}  // namespace trtn
