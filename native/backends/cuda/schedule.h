// Concurrent branches of a cuda engine: which stream (lane) runs each node, which nodes of other
// lanes it waits for, and the happens-before order the activation arena is planned by.
//
// Independent branches (GoogLeNet's inception branches, a ResNet block's projection shortcut, SSD's
// heads) run on their own streams; captured into the CUDA graph they become parallel graph nodes, so
// small kernels that leave most of the GPU idle overlap. A node waits only for the nodes whose memory
// it reads or writes (by root and channel slice, so the writers of one Concat's slices stay
// independent). The arena is then planned from this order, not from the node order: two buffers
// share bytes only where every access to the first is complete before the second is written.
// Host-only (no CUDA calls), so the planner harness tests it without a GPU.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.h"

namespace trtn::cuda {

struct Place;

/// Streams a cuda engine uses at most unless the build says otherwise (the main stream and up to
/// three auxiliary ones: an inception block has four branches).
constexpr int kDefaultLanes = 4;
/// The most streams a build may ask for.
constexpr int kMaxLanes = 8;

struct Schedule {
  int lanes = 1;                        // lanes used (lane 0 is the context's stream)
  std::vector<int> lane;                // per node; -1 for nodes that run nothing
  std::vector<std::vector<int>> waits;  // per node: nodes on other lanes it waits for
  std::vector<bool> signals;            // per node: a node of another lane waits for it
  std::vector<int> tail;                // per lane: its last node

  /// True when node a is complete before node b starts (program order on one lane, or waits).
  bool before(int a, int b) const {
    return a >= 0 && b >= 0 && (ancestors[b][static_cast<size_t>(a) / 64] >> (a % 64) & 1) != 0;
  }

  std::vector<std::vector<uint64_t>> ancestors;  // per node: bitset of the nodes complete before it starts
};

/// The tensors each node reads and writes when it runs: its own, for a node that runs the next one
/// in its kernel (planner.h EnginePlan::fused_next: an LRN and a MAX pooling) that one's outputs too,
/// for a node that runs a group of sibling convolutions (EnginePlan::merge_members) every member's
/// outputs, and for a convolution pooling its input in its loader (EnginePlan::pool_of) the
/// pooling's inputs and outputs (an observed run runs the pooling right before it: its output lives
/// there, so it shares bytes only with what is done before that convolution or written after it).
struct NodeAccess {
  NodeAccess(const Graph& g, const std::vector<int>& fused_next, const std::vector<std::vector<int>>& merged = {},
             const std::vector<int>& pool_of = {});
  std::vector<std::vector<int>> reads, writes;  // per node
};

/// Schedules the nodes that run (`runs[i]`) on at most `max_lanes` lanes (1: all in node order on
/// one). `access`, `places` and `alias` (per tensor: a Flatten / Reshape output sharing its input's
/// bytes) say which memory each node touches.
Schedule schedule_nodes(const NodeAccess& access, const std::vector<Place>& places, const std::vector<bool>& alias,
                        const std::vector<bool>& runs, int max_lanes);

/// Whether roots a and b may not share bytes under `s`: some access to one is not ordered before
/// every write of the other. Graph inputs live from the start, outputs to the end.
class RootConflicts {
 public:
  RootConflicts(const Graph& g, const NodeAccess& access, const std::vector<Place>& places,
                const std::vector<bool>& runs, const Schedule& s);
  bool operator()(size_t a, size_t b) const { return !(done_before(a, b) || done_before(b, a)); }

 private:
  bool done_before(size_t a, size_t b) const;
  const Schedule& s_;
  std::vector<std::vector<int>> access_, writers_;  // per root: nodes touching it, nodes writing it
  std::vector<bool> from_start_, to_end_;           // per root: holds a graph input / output
};

}  // namespace trtn::cuda
