// Calibration statistics of float tensors, collected inside the backend so activations never
// cross into JS: per tensor, the exact max |x| and a 2048-bin histogram of |x| over [0, range]
// (bin i holds (i w, (i + 1) w], w = range / 2048, and bin 0 also holds 0).
// The first non-zero batch sets range to its max; a later, larger max doubles the range (merging
// bins pairwise) until it fits, so earlier counts stay exact (docs/calibration.md).
#pragma once

#include <cmath>
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
    double range = 0;            // upper edge of the last bin; 0 until a non-zero value
    std::vector<double> counts;  // kBins counts
  };

  explicit TensorHistograms(size_t tensors);

  /// Adds n values of tensor `id`. kCalibration (and nothing added) when a value is NaN or infinite.
  Status add(int id, const float* data, int64_t n, const std::string& name);

  // The same in steps, for backends that count on their own device (cuda): first the batch's max
  // |x| (which may widen the range), then the batch's counts over the returned range.
  /// The error add() gives for a non-finite value at `element`.
  static Status non_finite(const std::string& name, int64_t element, bool nan);
  /// Records a batch's max |x|; returns the histogram range the batch's values are binned over
  /// (0: every value so far is 0, and the batch goes to bin 0 whole: add_zeros).
  double widen(int id, float amax);
  /// Adds a batch's counts (kBins of them, binned over the range widen returned).
  void add_counts(int id, const int64_t* counts);
  /// Adds n zeros (a batch of zeros while the range is still 0).
  void add_zeros(int id, int64_t n) { entries_[id].counts[0] += static_cast<double>(n); }
  /// Bin of |x| for a range: ceil(|x| kBins / range) - 1 in double, clamped to [0, kBins).
  static int64_t bin(double abs_x, double per) {
    const double b = std::ceil(abs_x * per) - 1;
    return b < 0 ? 0 : b >= kBins ? kBins - 1 : static_cast<int64_t>(b);
  }

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace trtn
