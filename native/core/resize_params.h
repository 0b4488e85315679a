// What the resize layers of Caffe's forks mean on every backend, per image and channel plane:
// - Upsample, nearest (YOLOv3): output (y, x) is input (floor(y H / H_out), floor(x W / W_out));
// - Upsample, unpool (SegNet / ENet, a second input holding MAX pooling's mask): output plane all
//   zero but at mask[i] (an index h * W_out + w in the output plane), which gets input value i;
//   mask values outside the plane are skipped;
// - Interp (DeepLab / PSPNet): the input cropped to rows and columns [-pad_beg, H + pad_end) is
//   resized bilinearly with aligned corners (in float32: ratio (H_e - 1) / (H_out - 1), source
//   row r = ratio * y, rows floor(r) and the next one inside the crop, weights r - floor(r)).
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked Upsample or Interp node: plane sizes in and out, and the crop of Interp.
struct ResizeParams {
  bool unpool = false;     // Upsample with a mask input
  int64_t channels = 1;    // planes per image
  int64_t h = 1, w = 1;    // input plane
  int64_t ho = 1, wo = 1;  // output plane
  int64_t crop = 0;        // Interp: the first row and column read (-pad_beg)
  int64_t he = 1, we = 1;  // Interp: the cropped input's size
};

/// Reads an Upsample node (mode); checks [C, H, W] inputs (the mask of the same shape) and output.
Status read_upsample_params(const OpInit& init, ResizeParams* out);

/// Reads an Interp node (padBeg, padEnd); checks [C, H, W] input(s) and output.
Status read_interp_params(const OpInit& init, ResizeParams* out);

/// Interp's source position along one axis: the first row (or column) index, the next one, and
/// the weight of the next one. Shared by the cpu and cuda backends (float32, as DeepLab computes).
struct InterpTap {
  int32_t i0, i1;
  float lambda;
};
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline InterpTap
    interp_tap(int64_t out_index, int64_t out_size, int64_t in_size) {
  const float ratio = out_size > 1 ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1) : 0.0f;
  const float r = ratio * static_cast<float>(out_index);
  const int32_t i0 = static_cast<int32_t>(r);
  const int32_t i1 = i0 < in_size - 1 ? i0 + 1 : i0;
  return {i0, i1, r - static_cast<float>(i0)};
}

}  // namespace trtn
