// Which LRN and MAX pooling pairs run as one kernel, and which poolings a 1x1 convolution takes
// into its loader (fusion.h): the node parameters and places the fused kernels (kernels/lrn_pool.cu,
// conv_mma.cu's POOL kernels) take.
#include "backends/cuda/fusion.h"

#include "backends/cuda/op.h"
#include "core/gemm_node.h"
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

bool pool_conv_fusable(const Graph& g, const Node& pool, const Node& conv, const std::vector<Place>& places) {
  static const WeightStore kNoWeights;
  PoolingParams pp;
  ConvGeometry geo;
  if (!one_to_one(pool, conv) || !max_pool_ok(g, pool, &pp) || conv.kind != OpKind::kConvolution ||
      conv.precision == Precision::kFP32 ||
      !read_conv_geometry(OpInit{g, conv, kNoWeights, "cuda"}, false, &geo).is_ok()) {
    return false;
  }
  const bool pool_3x3 = pp.kernel_h == 3 && pp.kernel_w == 3 && pp.stride_h == 1 && pp.stride_w == 1 && pp.pad_h == 1 &&
                        pp.pad_w == 1 && pp.out_h == pp.height && pp.out_w == pp.width;
  const bool conv_1x1 = geo.kernel == std::vector<int64_t>{1, 1} && geo.stride == std::vector<int64_t>{1, 1} &&
                        geo.pad == std::vector<int64_t>{0, 0} && geo.group == 1;
  const Place& in = places[pool.inputs[0]];
  const Place& mid = places[pool.outputs[0]];
  const int64_t chunk = 16 / elem_bytes(in.elem);
  for (const Place* p : {&in, &mid}) {
    if (p->layout != Layout::kNHWC || p->rows != 1 || p->elem == Elem::kU8) return false;
  }
  const bool same_store = in.elem == mid.elem && (in.elem != Elem::kI8 || in.scale == mid.scale);
  return pool_3x3 && conv_1x1 && same_store && in.c % chunk == 0 && in.c_offset % chunk == 0;
}

}  // namespace trtn::cuda
