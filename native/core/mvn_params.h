// What an MVN node means on every backend (Caffe's MVNLayer): each row (one channel of one image,
// or the whole image with acrossChannels) has its mean subtracted; with normalizeVariance it is
// then divided by sqrt(var) + eps, var = mean((x - mean)^2), as Caffe does (eps is added to the
// standard deviation, not to the variance).
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked MVN node.
struct MvnParams {
  int64_t rows_per_image = 1;
  int64_t dim = 1;  // values per row
  bool normalize_variance = false;
  double eps = 0;  // float32 as Caffe holds it
};

/// Reads normalizeVariance, acrossChannels and eps; checks one float32 input of at least (N, C)
/// and an output of its shape.
Status read_mvn_params(const OpInit& init, MvnParams* out);

}  // namespace trtn
