// What a Permute node means on every backend (SSD's Caffe): output axis i is input axis order[i],
// the batch staying first; seen per image, a transpose of the remaining dims.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked Permute node, per image (the batch axis dropped).
struct PermuteParams {
  std::vector<int64_t> out_dims;    // the output's dims
  std::vector<int64_t> in_strides;  // for output axis i: the input stride of the axis it reads
  int64_t volume = 1;               // values per image
};

/// Reads order; checks one float input, order[0] = 0 (the batch) and the permuted output shape.
Status read_permute_params(const OpInit& init, PermuteParams* out);

}  // namespace trtn
