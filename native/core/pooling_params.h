// What a Pooling node means on every backend: Caffe's method, window geometry (ceil or floor
// output size, padding, global pooling), the optional argmax mask output and the INT8 form of
// docs/int8.md, read from the node and checked against its tensors.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/op_init.h"

namespace trtn {

enum class PoolMethod { kMax, kAve, kStochastic };

/// A checked Pooling node: per-image geometry over NCHW ([C, H, W] per image).
struct PoolingParams {
  PoolMethod method = PoolMethod::kMax;
  int64_t channels = 0, height = 0, width = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool mask = false;       // a second output: the MAX argmax mask (float32)
  bool int8 = false;       // INT8 node: int8 input
  bool float_out = false;  // INT8 node writing float32 (dequantized) output 0
  float scale = 0.0f;      // INT8: the input's scale (an int8 output keeps it)
};

/// Reads method, kernel, stride, pad, global and roundMode and checks the node's tensors: one
/// input [C, H, W], one or two outputs of Caffe's pooled shape (the second only for MAX).
Status read_pooling_params(const OpInit& init, PoolingParams* out);

/// One pooling window along one axis, as Caffe computes it: `size` is the window clipped to the
/// padded input (the AVE divisor), [begin, end) the part inside the input (possibly empty in
/// Caffe's unpadded ceil-mode edge case, where the last window may start past the input).
struct PoolSpan {
  int64_t begin, end, size;
};

inline PoolSpan pool_window(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t extent) {
  const int64_t start = o * stride - pad;
  const int64_t padded_end = std::min(start + kernel, extent + pad);
  return PoolSpan{std::max<int64_t>(start, 0), std::min(padded_end, extent), padded_end - start};
}

}  // namespace trtn
