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
};

/// Channels of one 16-byte chunk for an element type (4 floats, 8 halves, 16 int8).
inline int64_t chunk_channels(Elem e) { return 16 / elem_bytes(e); }

/// [C, H, W] of a tensor of one image into p->c, h, w: rank <= 3 maps onto it ([C] -> C,1,1;
/// [C, H] -> C,H,1); larger ranks keep c = dims[0] and fold the rest into h (w = 1).
void chw_of(const TensorDesc& d, Place* p);

/// Plans `graph`; `use_views` false keeps every tensor kLinear and every node run (a debugging aid:
/// TRTN_CUDA_LINEAR=1). Independent branches run on up to `lanes` streams (schedule.h; 1: one stream,
/// node order), and the arena is planned by that order. `fuse` runs LRN / MAX pooling pairs as one
/// kernel (fusion.h; TRTN_CUDA_FUSION=1: measured slower than apart on an H100, docs/cuda.md).
EnginePlan plan_engine(const Graph& graph, bool use_views, int lanes, bool fuse = true);

/// One line per tensor group for --verbose: layout, element type, padding, slices.
std::string describe_plan(const Graph& graph, const EnginePlan& plan);

}  // namespace trtn::cuda
