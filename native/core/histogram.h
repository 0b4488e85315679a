// Calibration statistics of float tensors, collected inside the backend so activations never
// cross into JS: per tensor, the exact max |x| and a 2048-bin histogram of |x| over [0, range]
// (bin i holds (i w, (i + 1) w], w = range / 2048, and bin 0 also holds 0).
// The first non-zero batch sets range to its max; a later, larger max doubles the range (merging
// bins pairwise) until it fits, so earlier counts stay exact (docs/calibration.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace trtn {

class TensorHistograms {
 public:
  static constexpr int kBins = 2048;

  /// Statistics of one tensor.
  struct Entry {
    bool seen = false;
    double amax = 0;
    double range = 0;                  // upper edge of the last bin; 0 until a non-zero value
    std::vector<double> counts;        // kBins counts
  };

  explicit TensorHistograms(size_t tensors);

  /// Adds n values of tensor `id`. kCalibration (and nothing added) when a value is NaN or infinite.
  Status add(int id, const float* data, int64_t n, const std::string& name);

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace trtn
