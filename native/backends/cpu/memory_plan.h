// Activation memory of a context: every tensor gets an offset in one arena, tensors whose
// lifetimes do not overlap share bytes. Planned once per image; offsets scale with the batch.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.h"

namespace trtn::cpu {

/// Where each tensor lives, in bytes per image of batch.
struct MemoryPlan {
  std::vector<int64_t> offset;  // per tensor
  std::vector<int64_t> size;    // per tensor, rounded up to 64 bytes
  int64_t total = 0;            // arena bytes per image
};

/// Plans the graph's tensors by liveness (inputs live from the start, outputs to the end) with a
/// largest-first, first-fit placement.
MemoryPlan plan_memory(const Graph& graph);

}  // namespace trtn::cpu
