#include "backends/cpu/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace trtn::cpu {

MemoryPlan plan_memory(const Graph& graph) {
  const size_t n = graph.tensors.size();
  const int end = static_cast<int>(graph.nodes.size());
  MemoryPlan plan;
  plan.offset.assign(n, 0);
  plan.size.assign(n, 0);
  std::vector<int> first(n, end), last(n, -1);
  for (int id : graph.inputs) first[id] = -1;
  for (int i = 0; i < end; ++i) {
    const Node& node = graph.nodes[i];
    for (int id : node.outputs) first[id] = std::min(first[id], i);
    for (int id : node.inputs) last[id] = std::max(last[id], i);
  }
  for (int id : graph.outputs) last[id] = end;
  for (size_t t = 0; t < n; ++t) {
    const TensorDesc& d = graph.tensors[t];
    const int64_t bytes = d.volume * (d.dtype == DType::kInt8 ? 1 : 4);
    plan.size[t] = (bytes + 63) / 64 * 64;
    if (last[t] < first[t]) last[t] = first[t];  // written but never read: still needs a place
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return plan.size[a] > plan.size[b]; });
  std::vector<size_t> placed;
  for (size_t t : order) {
    // Intervals already placed that overlap t's lifetime, by offset.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t p : placed) {
      if (first[p] <= last[t] && first[t] <= last[p]) busy.emplace_back(plan.offset[p], plan.offset[p] + plan.size[p]);
    }
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto& [lo, hi] : busy) {
      if (at + plan.size[t] <= lo) break;
      at = std::max(at, hi);
    }
    plan.offset[t] = at;
    plan.total = std::max(plan.total, at + plan.size[t]);
    placed.push_back(t);
  }
  return plan;
}

}  // namespace trtn::cpu
