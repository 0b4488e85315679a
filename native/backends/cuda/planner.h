// Planning a cuda engine before any op exists: where every tensor lives (element type, layout,
// Concat slices, Flatten / Reshape aliases) and the activation arena.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/op.h"
#include "backends/cuda/schedule.h"
#include "core/graph.h"

namespace trtn::cuda {

struct EnginePlan {
  std::vector<Place> places;         // per tensor
  std::vector<bool> elided;          // per node: nothing to run (a Concat whose inputs are slices of
                                     // its output, a Flatten / Reshape whose output aliases its input)
  std::vector<bool> alias;           // per tensor: a Flatten / Reshape output sharing its input's bytes
  std::vector<int> fused_next;       // per node: the node it runs in its own kernel (an LRN's MAX pooling, a
                                     // MAX pooling's LRN; fusion.h), or -1; that node runs nothing on its
                                     // own (lane -1) except where every tensor is observed (calibration):
                                     // then right after the first
  std::vector<int> fused_into;       // per node: for such a second node, the first; else -1
  Schedule schedule;                 // which stream runs each node, and what it waits for
  std::vector<int64_t> root_offset;  // per tensor: bytes per image into the arena (roots only)
  std::vector<int64_t> root_bytes;   // per tensor: bytes per image it holds there (roots only; else 0)
  int64_t arena_per_image = 0;       // bytes
  int elided_concats = 0, aliased_reshapes = 0, nhwc_tensors = 0, fusions = 0;

  // Sibling convolutions run as one GEMM (merge_siblings in planner.cc): convolutions of one shape
  // reading one tensor, their outputs placed side by side in one root, so one kernel computes them
  // all (GoogLeNet's 1x1, 3x3_reduce and 5x5_reduce of each inception block).
  // Per node: for the node that runs a group (its first in node order), every member in channel
  // order (itself included); else empty.
  std::vector<std::vector<int>> merge_members;
  // Per node: for the other members, the node that runs their group; else -1.
  std::vector<int> merged_into;
  // Per node: for a runner, the channels its group writes (the members' slices, the gaps between).
  std::vector<Place> merge_span;
  int merges = 0;  // groups

  // A 1x1 convolution that MAX-pools its input in its loader (fusion.h pool_conv_fusable): per node,
  // for the convolution, the pooling it absorbed (which then runs only where every tensor is
  // observed, for calibration: right before the convolution, whose accesses its output counts
  // among, schedule.h NodeAccess); else -1.
  std::vector<int> pool_of;
  std::vector<int> pooled_by;  // per node: for such a pooling, the convolution; else -1
  int pooled_convs = 0;
};

/// The fusions plan_engine may make (each decided per node pair or group by the planner).
struct PlanFusions {
  bool lrn_pool = true;    // LRN / MAX pooling pairs as one kernel (TRTN_CUDA_FUSION=1)
  bool merge = false;      // sibling convolutions as one GEMM (TRTN_CUDA_MERGE=1)
  bool pool_conv = false;  // a 3x3 MAX pooling in the loader of the 1x1 convolution reading it
                           // (TRTN_CUDA_POOL_CONV=1; the engine asks for it on sm_80+ only)
};

/// Channels of one 16-byte chunk for an element type (4 floats, 8 halves, 16 int8).
inline int64_t chunk_channels(Elem e) { return 16 / elem_bytes(e); }

/// [C, H, W] of a tensor of one image into p->c, h, w: rank <= 3 maps onto it ([C] -> C,1,1;
/// [C, H] -> C,H,1); larger ranks keep c = dims[0] and fold the rest into h (w = 1).
void chw_of(const TensorDesc& d, Place* p);

/// Plans `graph`; `use_views` false keeps every tensor kLinear and every node run (a debugging aid:
/// TRTN_CUDA_LINEAR=1). Independent branches run on up to `lanes` streams (schedule.h; 1: one stream,
/// node order), and the arena is planned by that order, with the fusions `fusions` allows (LRN / MAX
/// pooling pairs: measured slower than apart on an H100, docs/cuda.md).
EnginePlan plan_engine(const Graph& graph, bool use_views, int lanes, const PlanFusions& fusions = {});

/// One line per tensor group for --verbose: layout, element type, padding, slices.
std::string describe_plan(const Graph& graph, const EnginePlan& plan);

}  // namespace trtn::cuda
