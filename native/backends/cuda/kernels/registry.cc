// The cuda backend's op table: OpKind -> factory, and which ops take View4s (kNHWC tensors and
// Concat slices). One line per op of core/op_kind.h; an op without a line is one the cuda backend lacks.
#include <algorithm>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/op.h"
#include "core/plugins.h"

namespace trtn::cuda {
namespace {

bool attr_equals(const Node& node, const char* key, int64_t want, int64_t fallback) {
  int64_t v = fallback;
  if (node.attrs.has(key) && !json::get_int(node.attrs, key, "", &v).is_ok()) return false;
  return v == want;
}

bool attr_flag(const Node& node, const char* key) {
  bool v = false;
  return node.attrs.has(key) && json::get_bool(node.attrs, key, "", &v).is_ok() && v;
}

/// The largest rank among the node's tensors (per image).
size_t rank_of(const Graph& graph, const Node& node) {
  size_t rank = 0;
  for (int t : node.inputs) rank = std::max(rank, graph.tensors[t].dims.size());
  for (int t : node.outputs) rank = std::max(rank, graph.tensors[t].dims.size());
  return rank;
}

// Views per op; op_takes_views has already refused tensors of more than 3 dims per image.
bool views_always(const Graph&, const Node&) { return true; }
bool views_conv(const Graph& g, const Node& n) { return rank_of(g, n) >= 2; }  // one or two spatial axes
bool views_axis1(const Graph&, const Node& n) { return attr_equals(n, "axis", 1, 1); }
bool views_image(const Graph& g, const Node& n) { return rank_of(g, n) == 3; }
bool views_batch_norm(const Graph&, const Node& n) { return attr_flag(n, "useGlobalStats"); }
bool views_affine(const Graph&, const Node& n) {
  return n.inputs.size() == 1 && attr_equals(n, "axis", 1, 1) && attr_equals(n, "numAxes", 1, 1);
}

OpTable<OpEntry> make_table() {
  OpTable<OpEntry> t;
  t[OpKind::kConvolution] = {make_convolution, nullptr, views_conv};
  t[OpKind::kDeconvolution] = {make_deconvolution};
  t[OpKind::kInnerProduct] = {make_inner_product, nullptr, views_axis1};
  t[OpKind::kPooling] = {make_pooling, nullptr, views_image};
  t[OpKind::kLRN] = {make_lrn, nullptr, views_image};
  for (OpKind k : kActivationOps) t[k] = {make_activation, nullptr, views_always};
  t[OpKind::kPReLU] = {make_prelu, nullptr, views_always};
  t[OpKind::kSoftmax] = {make_softmax, nullptr, views_axis1};
  t[OpKind::kConcat] = {make_concat, nullptr, views_axis1};
  t[OpKind::kEltwise] = {make_eltwise, nullptr, views_always};
  t[OpKind::kBatchNorm] = {make_channel_affine, nullptr, views_batch_norm};
  for (OpKind k : {OpKind::kScale, OpKind::kBias}) t[k] = {make_channel_affine, nullptr, views_affine};
  for (OpKind k : kReshapeOps) t[k] = {make_reshape};
  t[OpKind::kSlice] = {make_slice};
  t[OpKind::kCrop] = {make_crop};
  t[OpKind::kTile] = {make_tile};
  t[OpKind::kShuffleChannel] = {make_shuffle_channel};
  t[OpKind::kPermute] = {make_permute};
  t[OpKind::kNormalize] = {make_normalize};
  t[OpKind::kPriorBox] = {make_prior_box, nullptr, views_always};  // reads no input
  t[OpKind::kDetectionOutput] = {make_detection_output};
  t[OpKind::kUpsample] = {make_resize};
  t[OpKind::kInterp] = {make_resize};
  t[OpKind::kArgMax] = {make_argmax};
  t[OpKind::kReduction] = {make_reduction};
  t[OpKind::kMVN] = {make_mvn};
  t[OpKind::kEmbed] = {make_embed};
  t[OpKind::kPlugin] = {make_plugin,
                        [](const Graph&, const Node& n, std::string* why) { return plugin_runs_on(n, true, why); }};
  // Region layers (Faster R-CNN, region.cu).
  t[OpKind::kROIPooling] = {make_roi_pooling};
  t[OpKind::kPSROIPooling] = {make_psroi_pooling};
  t[OpKind::kProposal] = {make_proposal};
  t[OpKind::kQuantize] = {make_quantize, nullptr, views_always};
  t[OpKind::kPreprocess] = {make_preprocess, nullptr, views_always};
  return t;
}

}  // namespace

const OpTable<OpEntry>& op_table() {
  static const OpTable<OpEntry> table = make_table();
  return table;
}

bool op_takes_views(const Graph& graph, const Node& node) {
  if (rank_of(graph, node) > 3) return false;
  const TakesViewsFn views = op_table()[node.kind].takes_views;
  return views != nullptr && views(graph, node);
}

Status make_op(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  const OpEntry& e = op_table()[init.node.node.kind];
  if (e.make == nullptr) return init.node.error("the cuda backend has no such op");
  return e.make(init, out);
}

}  // namespace trtn::cuda
