// Which LRN and MAX pooling pairs run as one kernel (fusion.h): the node parameters and places the
// fused kernels (kernels/lrn_pool.cu) take.
#include "backends/cuda/fusion.h"

#include "backends/cuda/op.h"
#include "core/lrn_params.h"
#include "core/pooling_params.h"

namespace trtn::cuda {
namespace {

bool one_to_one(const Node& a, const Node& b) {
  return a.inputs.size() == 1 && a.outputs.size() == 1 && b.inputs.size() == 1 && b.outputs.size() == 1 &&
         b.inputs[0] == a.outputs[0];
}

bool lrn_ok(const Graph& g, const Node& n) {
  static const WeightStore kNoWeights;
  LrnParams p;
  return n.kind == OpKind::kLRN && read_lrn_params(OpInit{g, n, kNoWeights, "cuda"}, &p).is_ok() && p.across_channels &&
         (p.size - 1) / 2 <= kFusedMaxHalf;
}

bool max_pool_ok(const Graph& g, const Node& n, PoolingParams* p) {
  static const WeightStore kNoWeights;
  return n.kind == OpKind::kPooling && read_pooling_params(OpInit{g, n, kNoWeights, "cuda"}, p).is_ok() &&
         p->method == PoolMethod::kMax && !p->mask && !p->float_out && p->kernel_h <= kFusedMaxKernel &&
         p->kernel_w <= kFusedMaxKernel;
}

}  // namespace

bool fusable(const Graph& g, const Node& first, const Node& second, const std::vector<Place>& places) {
  if (!one_to_one(first, second)) return false;
  const Place& in = places[first.inputs[0]];
  const Place& mid = places[first.outputs[0]];
  const Place& out = places[second.outputs[0]];
  for (const Place* p : {&in, &mid, &out}) {
    if (p->layout != Layout::kNHWC || p->rows != 1 || p->elem == Elem::kU8) return false;
  }
  PoolingParams pp;
  if (first.kind == OpKind::kLRN) {
    // The pooling stores what it reads: the LRN's output type (int8 with its scale).
    const bool same_store = mid.elem == out.elem && (mid.elem != Elem::kI8 || mid.scale == out.scale);
    return lrn_ok(g, first) && max_pool_ok(g, second, &pp) && pp.stride_h <= pp.kernel_h &&
           pp.stride_w <= pp.kernel_w && same_store && (in.elem == mid.elem || in.elem == Elem::kI8);
  }
  const bool same_store = in.elem == mid.elem && (in.elem != Elem::kI8 || in.scale == mid.scale);
  return max_pool_ok(g, first, &pp) && lrn_ok(g, second) && pp.channels <= kPoolLrnMaxChannels && same_store &&
         (out.elem == mid.elem || mid.elem == Elem::kI8);
}

}  // namespace trtn::cuda
