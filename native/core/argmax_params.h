// What an ArgMax node means on every backend (Caffe's ArgMaxLayer): the top_k largest values of
// each row and their indices (as floats). With `axis`, a row runs along that axis (stride = the
// volume after it) and the output has top_k in its place: indices, or the values when outMaxVal.
// Without `axis`, a row is all the values of one image and the output per image is top_k indices,
// followed by the top_k values when outMaxVal.
//
// Order: Caffe's, which sorts (value, index) pairs with std::greater: larger values first and,
// for equal values, the larger index first. NaN counts as larger than every number, so the order
// is a strict total order (argmax_before).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked ArgMax node: per image, `outer` groups of `stride` rows of `dim` values at stride
/// `stride`.
struct ArgMaxParams {
  int64_t outer = 1, dim = 1, stride = 1, top_k = 1;
  bool has_axis = false;
  bool out_max_val = false;
};

/// Reads topK, outMaxVal and the optional axis; checks one float32 input and the output's shape.
Status read_argmax_params(const OpInit& init, ArgMaxParams* out);

/// True when (a, ia) comes before (b, ib) in ArgMax's order.
inline bool argmax_before(float a, int64_t ia, float b, int64_t ib) {
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na && (!nb || ia > ib);
  if (a != b) return a > b;
  return ia > ib;
}

}  // namespace trtn
