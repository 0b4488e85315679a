// The cpu backend's op table: OpKind -> factory (and, where the op needs one, a check run before
// building). One line per op of core/op_kind.h; an op without a line is one the cpu backend lacks.
#include "backends/cpu/ops/op.h"
#include "core/plugins.h"

namespace trtn::cpu {
namespace {

OpTable<OpEntry> make_table() {
  OpTable<OpEntry> t;
  t[OpKind::kConvolution] = {make_convolution};
  t[OpKind::kDeconvolution] = {make_deconvolution};
  t[OpKind::kInnerProduct] = {make_inner_product};
  t[OpKind::kPooling] = {make_pooling};
  t[OpKind::kLRN] = {make_lrn};
  for (OpKind k : kActivationOps) t[k] = {make_activation};
  t[OpKind::kPReLU] = {make_prelu};
  t[OpKind::kSoftmax] = {make_softmax};
  t[OpKind::kConcat] = {make_concat};
  t[OpKind::kEltwise] = {make_eltwise};
  for (OpKind k : kChannelAffineOps) t[k] = {make_channel_affine};
  for (OpKind k : kReshapeOps) t[k] = {make_reshape};
  t[OpKind::kSlice] = {make_slice};
  t[OpKind::kCrop] = {make_crop};
  t[OpKind::kTile] = {make_tile};
  t[OpKind::kShuffleChannel] = {make_shuffle_channel};
  t[OpKind::kPermute] = {make_permute};
  t[OpKind::kNormalize] = {make_normalize};
  t[OpKind::kPriorBox] = {make_prior_box};
  t[OpKind::kDetectionOutput] = {make_detection_output};
  t[OpKind::kUpsample] = {make_upsample};
  t[OpKind::kInterp] = {make_interp};
  t[OpKind::kArgMax] = {make_argmax};
  t[OpKind::kReduction] = {make_reduction};
  t[OpKind::kMVN] = {make_mvn};
  t[OpKind::kEmbed] = {make_embed};
  t[OpKind::kPlugin] = {make_plugin,
                        [](const Graph&, const Node& n, std::string* why) { return plugin_runs_on(n, false, why); }};
  t[OpKind::kROIPooling] = {make_roi_pooling};
  t[OpKind::kPSROIPooling] = {make_psroi_pooling};
  t[OpKind::kProposal] = {make_proposal};
  t[OpKind::kQuantize] = {make_quantize};
  t[OpKind::kPreprocess] = {make_preprocess};
  return t;
}

}  // namespace

const OpTable<OpEntry>& op_table() {
  static const OpTable<OpEntry> table = make_table();
  return table;
}

Status make_op(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  const OpEntry& e = op_table()[init.node.kind];
  if (e.make == nullptr) return init.error("the cpu backend has no such op");
  return e.make(init, out);
}

}  // namespace trtn::cpu
