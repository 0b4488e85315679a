// Activation memory of a context: every buffer gets an offset in one arena, buffers whose
// lifetimes do not overlap share bytes. Planned once per image; offsets scale with the batch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/graph.h"

namespace trtn {

/// Where each tensor lives, in bytes per image of batch.
struct MemoryPlan {
  std::vector<int64_t> offset;  // per tensor
  std::vector<int64_t> size;    // per tensor, rounded up to 64 bytes
  int64_t total = 0;            // arena bytes per image
};

/// Live ranges of the graph's tensors in node steps: graph inputs from -1, outputs to
/// nodes.size(), a tensor written but never read still holds its producer's step.
void tensor_lifetimes(const Graph& graph, std::vector<int>* first, std::vector<int>* last);

/// Places buffers of `size` bytes living over steps [first, last] (inclusive; size 0: no place)
/// largest first, each at the lowest offset free over its whole lifetime. Returns the arena size.
int64_t place_buffers(const std::vector<int64_t>& size, const std::vector<int>& first, const std::vector<int>& last,
                      std::vector<int64_t>* offset);

/// The same for any notion of lifetime: `live_together(a, b)` says buffers a and b may not share bytes
/// (the cuda backend's streams order nodes only partially: backends/cuda/schedule.h).
int64_t place_buffers(const std::vector<int64_t>& size, const std::function<bool(size_t, size_t)>& live_together,
                      std::vector<int64_t>* offset);

/// The cpu backend's plan: every tensor its own buffer (float32 or int8, 64-byte aligned).
MemoryPlan plan_memory(const Graph& graph);

}  // namespace trtn
