// What a Reduction node means on every backend (Caffe's ReductionLayer): each row of the dims from
// `axis` on becomes one value, coeff * (SUM x | ASUM |x| | SUMSQ x^2 | MEAN x).
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

enum class ReductionOperation { kSum, kAsum, kSumSq, kMean };

/// A checked Reduction node.
struct ReductionParams {
  ReductionOperation op = ReductionOperation::kSum;
  int64_t rows_per_image = 1;
  int64_t dim = 1;   // values per row
  double coeff = 1;  // float32 as Caffe holds it
  /// What the row's sum is multiplied by (in double): coeff, or coeff / dim for MEAN (Caffe
  /// divides coeff by the row length).
  double multiplier() const { return op == ReductionOperation::kMean ? coeff / static_cast<double>(dim) : coeff; }
};

/// Reads operation, axis (not the batch) and coeff; checks one float32 input and an output of the
/// dims before the axis.
Status read_reduction_params(const OpInit& init, ReductionParams* out);

}  // namespace trtn
