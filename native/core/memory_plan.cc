#include "core/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace trtn {

void tensor_lifetimes(const Graph& graph, std::vector<int>* first, std::vector<int>* last) {
  const size_t n = graph.tensors.size();
  const int end = static_cast<int>(graph.nodes.size());
  first->assign(n, end);
  last->assign(n, -1);
  for (int id : graph.inputs) (*first)[id] = -1;
  for (int i = 0; i < end; ++i) {
    const Node& node = graph.nodes[i];
    for (int id : node.outputs) (*first)[id] = std::min((*first)[id], i);
    for (int id : node.inputs) (*last)[id] = std::max((*last)[id], i);
  }
  for (int id : graph.outputs) (*last)[id] = end;
  for (size_t t = 0; t < n; ++t) {
    if ((*last)[t] < (*first)[t]) (*last)[t] = (*first)[t];  // written but never read: still needs a place
  }
}

int64_t place_buffers(const std::vector<int64_t>& size, const std::vector<int>& first, const std::vector<int>& last,
                      std::vector<int64_t>* offset) {
  return place_buffers(
      size, [&](size_t a, size_t b) { return first[a] <= last[b] && first[b] <= last[a]; }, offset);
}

int64_t place_buffers(const std::vector<int64_t>& size, const std::function<bool(size_t, size_t)>& live_together,
                      std::vector<int64_t>* offset) {
  const size_t n = size.size();
  offset->assign(n, 0);
  std::vector<size_t> order;
  for (size_t t = 0; t < n; ++t) {
    if (size[t] > 0) order.push_back(t);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size[a] > size[b]; });
  int64_t total = 0;
  std::vector<size_t> placed;
  std::vector<std::pair<int64_t, int64_t>> busy;
  for (size_t t : order) {
    // Buffers already placed that are live together with t, by offset.
    busy.clear();
    for (size_t p : placed) {
      if (live_together(p, t)) busy.emplace_back((*offset)[p], (*offset)[p] + size[p]);
    }
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto& [lo, hi] : busy) {
      if (at + size[t] <= lo) break;
      at = std::max(at, hi);
    }
    (*offset)[t] = at;
    total = std::max(total, at + size[t]);
    placed.push_back(t);
  }
  return total;
}

MemoryPlan plan_memory(const Graph& graph) {
  std::vector<int> first, last;
  tensor_lifetimes(graph, &first, &last);
  MemoryPlan plan;
  plan.size.resize(graph.tensors.size());
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const TensorDesc& d = graph.tensors[t];
    const int64_t bytes = d.image_volume() * (d.dtype == DType::kInt8 || d.dtype == DType::kUInt8 ? 1 : 4);
    plan.size[t] = std::max<int64_t>(64, (bytes + 63) / 64 * 64);
  }
  plan.total = place_buffers(plan.size, first, last, &plan.offset);
  return plan;
}

}  // namespace trtn
