// What Convolution, Deconvolution and InnerProduct nodes share on every backend: their geometry
// read from the attributes and checked against the tensors, the checks of their prepared blobs and
// dtypes, and the INT8 epilogue multipliers of docs/int8.md.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// Most spatial axes a convolution may have (its weights then have 8 dimensions, the most a plan
/// stores).
constexpr size_t kMaxSpatialAxes = 6;

/// Geometry of a Convolution or Deconvolution node (Caffe's BaseConvolutionLayer, any number of
/// spatial axes), read from its attributes and checked against its tensors.
struct ConvGeometry {
  int64_t channels_in = 0, channels_out = 0, group = 1;
  std::vector<int64_t> in, out;  // spatial dims of the node's input and output
  std::vector<int64_t> kernel, stride, pad, dilation;
  int64_t in_volume = 1, out_volume = 1, kernel_volume = 1;
};

/// Reads numOutput, kernel, stride, pad, dilation, group and axis (stride, pad, dilation, group
/// and axis may be absent: Caffe's defaults; one value stands for every axis) and checks them
/// and the node's tensors: one or more bottoms of one shape, as many tops, each of the shape the
/// geometry gives (deconvolution: stride (in - 1) + dilation (k - 1) + 1 - 2 pad).
Status read_conv_geometry(const OpInit& init, bool deconv, ConvGeometry* out);

/// Checks the prepared blobs of a GEMM node: "<node>/weights" of `weight_dims` (int8 for an INT8
/// node, else float32), "<node>/bias" [channels] and, for INT8, "<node>/wscale" [channels].
Status find_gemm_blobs(const OpInit& init, const std::vector<int64_t>& weight_dims, int64_t channels,
                       const Blob** weights, const Blob** bias, const Blob** wscale);

/// Checks that every input is float32 (int8 for an INT8 node) and every output float32 (an INT8
/// node may also write int8).
Status check_gemm_dtypes(const OpInit& init);

/// The INT8 epilogue multipliers of docs/int8.md for output channel c of a GEMM node with input
/// scale s_x, weight scales s_w and float32 bias: for an int8 output (scale s_y)
/// mul[c] = float32(s_x s_w[c] / s_y), add[c] = float32(bias[c] / s_y); for a float32 output
/// mul[c] = float32(s_x s_w[c]), add[c] = bias[c]. Computed in double, rounded once.
void int8_multipliers(float input_scale, const std::vector<float>& wscale, const std::vector<float>& bias,
                      const TensorDesc& output, std::vector<float>* mul, std::vector<float>* add);

}  // namespace trtn
