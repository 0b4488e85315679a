// What a Crop node means on every backend (Caffe's CropLayer): input 0 cut to input 1's
// dimensions from `axis` on, starting at `offsets` (one per cropped axis); dimensions before
// `axis` are kept. Input 1 gives only its shape.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked Crop node, per image: output element [i_0, ..., i_r-1] is input element
/// [i_0 + offsets[0], ...] (offsets 0 on the kept dims).
struct CropParams {
  std::vector<int64_t> out_dims;    // per-image dims of the output
  std::vector<int64_t> in_strides;  // of the input, per image, in elements
  std::vector<int64_t> offsets;     // per per-image dim
  int64_t in_volume = 1;
};

/// Reads axis and offsets; checks two float32 inputs of one rank, the offsets against both and
/// the output's shape.
Status read_crop_params(const OpInit& init, CropParams* out);

}  // namespace trtn
