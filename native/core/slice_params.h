// What a Slice node means on every backend (Caffe's SliceLayer): the input cut along `axis` at
// `points` into consecutive parts, one per output. Seen from the axis, the input is
// [outer, dim, inner]; output k takes the contiguous run [starts[k], starts[k] + sizes[k]) * inner
// of every outer row.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked Slice node.
struct SliceParams {
  int64_t outer = 1;                   // rows per image before the axis
  int64_t dim = 1;                     // input length along the axis
  int64_t inner = 1;                   // values per step along the axis
  std::vector<int64_t> starts, sizes;  // per output, along the axis
};

/// Reads axis (not the batch) and points; checks one float32 input and one output per part, each
/// of the slice's shape.
Status read_slice_params(const OpInit& init, SliceParams* out);

}  // namespace trtn
