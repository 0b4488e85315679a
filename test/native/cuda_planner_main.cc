// Test harness of the cuda backend's planner (native/backends/cuda/planner.h), built with g++ and
// CUDA's headers (no GPU, no CUDA library) by test/unit/cuda_planner.test.ts:
//   cuda_planner <graph.json> [lanes] [nofuse] [merge] [poolconv]
// reads an execution graph as lib/builder/exec_graph.ts writes it, plans it on at most `lanes`
// streams (default 1), and prints as JSON every tensor's place (element type, layout, rows, root,
// channel offset, padded channels; roots: arena offset and bytes), the arena's bytes per image and
// the schedule (each node's lane and the nodes it waits for; elided nodes have lane -1) and the
// fusions (an LRN's "fuses": the MAX pooling it runs in its kernel, which has lane -1); with `merge`
// the sibling convolutions run as one GEMM (a runner's "merges": its group in channel order, the
// others with lane -1; "span": the runner's [first, last) channels of its root); with `poolconv` a
// convolution's "pools": the MAX pooling it runs in its loader (which has lane -1).
// op_takes_views is the test's stand-in for the op table's (registry.cc,
// which would pull in every kernel): the region layers and InnerProduct take no views (as in the
// table), every other op does.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "backends/cuda/planner.h"
#include "core/json.h"

namespace trtn::cuda {
bool op_takes_views(const Graph& /*graph*/, const Node& node) {
  return node.kind != OpKind::kROIPooling && node.kind != OpKind::kPSROIPooling && node.kind != OpKind::kProposal &&
         node.kind != OpKind::kInnerProduct;
}
}  // namespace trtn::cuda

int main(int argc, char** argv) {
  using trtn::json::quote;
  if (argc < 2) {
    std::printf("{\"error\":\"usage: cuda_planner <graph.json> [lanes] [nofuse] [merge] [poolconv]\"}\n");
    return 1;
  }
  std::ifstream f(argv[1]);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  trtn::Graph g;
  const trtn::Status st = trtn::parse_graph(text, &g);
  if (!st.is_ok()) {
    std::printf("{\"error\":%s}\n", quote(st.message()).c_str());
    return 1;
  }
  const int lanes = argc > 2 ? std::atoi(argv[2]) : 1;
  trtn::cuda::PlanFusions fusions;
  for (int a = 3; a < argc; ++a) {
    const std::string flag = argv[a];
    fusions.lrn_pool = fusions.lrn_pool && flag != "nofuse";
    fusions.merge = fusions.merge || flag == "merge";
    fusions.pool_conv = fusions.pool_conv || flag == "poolconv";
  }
  const trtn::cuda::EnginePlan plan = trtn::cuda::plan_engine(g, true, lanes, fusions);
  static const char* kElem[] = {"f32", "f16", "i8", "u8"};
  std::string out = "{\"arenaPerImage\":" + std::to_string(plan.arena_per_image) + ",\"tensors\":{";
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const trtn::cuda::Place& p = plan.places[t];
    out += (t ? "," : "") + quote(g.tensors[t].name) + ":{\"elem\":" + quote(kElem[static_cast<int>(p.elem)]) +
           ",\"layout\":" + quote(p.layout == trtn::cuda::Layout::kNHWC ? "nhwc" : "linear") +
           ",\"rows\":" + std::to_string(p.rows) + ",\"root\":" + quote(g.tensors[p.root].name) +
           ",\"cOffset\":" + std::to_string(p.c_offset) + ",\"rootC\":" + std::to_string(p.root_c) +
           ",\"offset\":" + std::to_string(plan.root_offset[t]) + ",\"bytes\":" + std::to_string(plan.root_bytes[t]) +
           "}";
  }
  const trtn::cuda::Schedule& s = plan.schedule;
  out += "},\"lanes\":" + std::to_string(s.lanes) + ",\"nodes\":[";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    out += (i ? "," : "") + std::string("{\"name\":") + quote(g.nodes[i].name) +
           ",\"lane\":" + std::to_string(s.lane[i]) + ",\"waits\":[";
    for (size_t k = 0; k < s.waits[i].size(); ++k) out += (k ? "," : "") + quote(g.nodes[s.waits[i][k]].name);
    out += "]";
    if (plan.fused_next[i] >= 0) out += ",\"fuses\":" + quote(g.nodes[plan.fused_next[i]].name);
    if (plan.pool_of[i] >= 0) out += ",\"pools\":" + quote(g.nodes[plan.pool_of[i]].name);
    const std::vector<int>& group = plan.merge_members[i];
    for (size_t k = 0; k < group.size(); ++k) out += (k ? "," : ",\"merges\":[") + quote(g.nodes[group[k]].name);
    if (!group.empty()) {
      const trtn::cuda::Place& span = plan.merge_span[i];
      out += "],\"span\":[" + std::to_string(span.c_offset) + "," + std::to_string(span.c_offset + span.c) + "]";
    }
    out += "}";
  }
  std::printf("%s]}\n", out.c_str());
  return 0;
}
