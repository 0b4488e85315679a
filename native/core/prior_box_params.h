// What a PriorBox node means on every backend (SSD's Caffe): default boxes that depend only on the
// node's (resolved) attributes, the same for every image: [2, cells * priors_per_cell * 4], the
// boxes (xmin, ymin, xmax, ymax over the image size) in row 0 and their variances in row 1.
// Per cell (row by row): for each min size the min box, the sqrt(min * max) box when max sizes are
// given, then a box per aspect ratio other than 1 (w = min sqrt(ar), h = min / sqrt(ar)); the
// sizes are truncated to integers first, as SSD's Caffe does.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// A checked PriorBox node: the values every image gets (float32, computed in double as Caffe
/// does: its float centres and sizes, the box corners in double, stored as float).
struct PriorBoxParams {
  std::vector<float> values;  // [2, 4 * priors]
};

/// Reads the resolved attributes (lib/network/layers/detection.ts) and computes the boxes; checks
/// two float inputs (feature map, image) and the output [2, 4 * priors].
Status read_prior_box_params(const OpInit& init, PriorBoxParams* out);

}  // namespace trtn
