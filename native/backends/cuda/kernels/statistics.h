// Calibration statistics counted on the GPU (kernels/statistics.cu): the same max |x| and the
// same 2048-bin histogram as core/histogram.cc, so calibrating on the cuda backend gives the cpu
// backend's numbers without copying activations to the host.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/format.h"
#include "core/status.h"

namespace trtn::cuda {

/// What launch_amax writes: max |x| (float bits; values are >= 0 so integer order is float
/// order) and the first non-finite element as 2 * (NCHW index) + (1 if NaN), or ~0 when none.
struct AmaxResult {
  uint32_t amax_bits;
  uint32_t pad;
  unsigned long long first_bad;
};

/// Max |x| over the real elements of a float view (channels [0, c)). Sets *result first.
Status launch_amax(const View4& v, AmaxResult* result, cudaStream_t stream);

/// Adds every real element of a float view to counts[bin] (2048 counters, zeroed by the caller),
/// bin = ceil(|x| per) - 1 in double, clamped to [0, 2048): TensorHistograms::bin.
Status launch_histogram(const View4& v, double per, unsigned long long* counts, cudaStream_t stream);

}  // namespace trtn::cuda
