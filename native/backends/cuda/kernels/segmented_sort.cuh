// The stable segmented sort DetectionOutput and Proposal order their candidates with (CUB): float
// keys in descending order with int values, within segments [offsets[s], offsets[s + 1]); ties keep
// their order (the lower index first, as the cpu backend's stable sorts do).
#pragma once

#include <cub/cub.cuh>

#include <cstdint>

#include "gpu/cuda_check.h"

namespace trtn::cuda {

/// Sorts `items` pairs in `segments` segments on `stream` with `temp_bytes` bytes of scratch at
/// `temp`; with temp null it only sets *temp_bytes (the scratch a run of these sizes needs).
inline Status sort_segments_descending(void* temp, size_t* temp_bytes, const float* keys_in, float* keys_out,
                                       const int* vals_in, int* vals_out, int64_t items, int64_t segments,
                                       const int* offsets, cudaStream_t stream = nullptr) {
  return TRTN_CUDA_STATUS(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      temp, *temp_bytes, keys_in, keys_out, vals_in, vals_out, static_cast<int>(items), static_cast<int>(segments),
      offsets, offsets == nullptr ? nullptr : offsets + 1, 0, 32, stream));
}

}  // namespace trtn::cuda
