#include "core/histogram.h"

#include <algorithm>
#include <cmath>

namespace trtn {

TensorHistograms::TensorHistograms(size_t tensors) : entries_(tensors) {
  for (Entry& e : entries_) e.counts.assign(kBins, 0.0);
}

Status TensorHistograms::non_finite(const std::string& name, int64_t element, bool nan) {
  return Status(Code::kCalibration, "tensor '" + name + "' holds " + (nan ? "a NaN" : "an infinite") +
                                        " value (element " + std::to_string(element) +
                                        " of the batch): calibration needs finite " +
                                        "activations; check the input data and the weights");
}

double TensorHistograms::widen(int id, float amax) {
  Entry& e = entries_[id];
  e.seen = true;
  e.amax = std::max(e.amax, static_cast<double>(amax));
  if (amax > 0) {
    if (e.range == 0) {
      e.range = amax;
    } else {
      while (e.range < amax) {
        // Double the range: bin i of the new histogram is bins 2i and 2i+1 of the old one.
        for (int i = 0; i < kBins / 2; ++i) e.counts[i] = e.counts[2 * i] + e.counts[2 * i + 1];
        std::fill(e.counts.begin() + kBins / 2, e.counts.end(), 0.0);
        e.range *= 2;
      }
    }
  }
  return e.range;
}

void TensorHistograms::add_counts(int id, const int64_t* counts) {
  Entry& e = entries_[id];
  for (int i = 0; i < kBins; ++i) e.counts[i] += static_cast<double>(counts[i]);
}

Status TensorHistograms::add(int id, const float* data, int64_t n, const std::string& name) {
  if (id < 0 || static_cast<size_t>(id) >= entries_.size()) return Status(Code::kInternal, "histogram id out of range");
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(data[i]);
    if (!(a <= 3.4028235e38f)) return non_finite(name, i, std::isnan(data[i]));  // NaN or infinite
    amax = std::max(amax, a);
  }
  const double range = widen(id, amax);
  if (range == 0) {
    add_zeros(id, n);  // all zeros so far: they belong in bin 0 whatever the range becomes
    return Status::ok();
  }
  // Bins are closed above: bin i holds (i w, (i + 1) w] (bin 0 also holds 0), so doubling the
  // range merges bins 2i and 2i+1 into bin i exactly, and the value that set a range stays in
  // the last bin of that range.
  std::vector<int64_t> local(kBins, 0);
  const double per = kBins / range;
  for (int64_t i = 0; i < n; ++i) ++local[bin(std::fabs(static_cast<double>(data[i])), per)];
  add_counts(id, local.data());
  return Status::ok();
}

}  // namespace trtn
