#include "core/roi_params.h"

#include <cmath>
#include <string>

namespace trtn {
namespace {

/// The regions input (1) of a pooling node: [5] per row, `rows` rows per image, float32.
Status read_regions(const OpInit& init, int64_t* rows) {
  const TensorDesc& r = init.input(1);
  if (r.volume != 5 || r.rows < 1) return init.error("needs regions of 5 values a row (image, x1, y1, x2, y2)");
  if (init.input(0).rows != 1) return init.error("pools an image tensor, not a region tensor");
  if (init.output(0).rows != r.rows) return init.error("must give one output row per region");
  *rows = r.rows;
  return Status::ok();
}

}  // namespace

Status read_roi_pooling_params(const OpInit& init, RoiPoolingParams* out) {
  TRTN_TRY(init.expect_float(2, 1));
  RoiPoolingParams p;
  int64_t ph = 0, pw = 0;
  double scale = 0;
  TRTN_TRY(init.attr_int("pooledH", &ph));
  TRTN_TRY(init.attr_int("pooledW", &pw));
  TRTN_TRY(init.attr_double("spatialScale", &scale));
  const TensorDesc& x = init.input(0);
  if (x.dims.size() != 3) return init.error("needs a feature map [C, H, W] per image");
  if (ph < 1 || pw < 1 || !(scale > 0)) return init.error("needs pooledH, pooledW >= 1 and spatialScale > 0");
  TRTN_TRY(read_regions(init, &p.rows));
  p.channels = x.dims[0];
  p.height = x.dims[1];
  p.width = x.dims[2];
  p.pooled_h = ph;
  p.pooled_w = pw;
  p.spatial_scale = static_cast<float>(scale);
  if (init.output(0).dims != std::vector<int64_t>{p.channels, ph, pw})
    return init.error("output must be [C, pooledH, pooledW] a row");
  *out = p;
  return Status::ok();
}

Status read_psroi_pooling_params(const OpInit& init, PsRoiPoolingParams* out) {
  TRTN_TRY(init.expect_float(2, 1));
  PsRoiPoolingParams p;
  double scale = 0;
  TRTN_TRY(init.attr_int("outputDim", &p.output_dim));
  TRTN_TRY(init.attr_int("groupSize", &p.group));
  TRTN_TRY(init.attr_double("spatialScale", &scale));
  const TensorDesc& x = init.input(0);
  if (x.dims.size() != 3) return init.error("needs a feature map [C, H, W] per image");
  if (p.output_dim < 1 || p.group < 1 || !(scale > 0))
    return init.error("needs outputDim, groupSize >= 1 and spatialScale > 0");
  if (x.dims[0] != p.output_dim * p.group * p.group) return init.error("needs outputDim x groupSize^2 input channels");
  TRTN_TRY(read_regions(init, &p.rows));
  p.channels = x.dims[0];
  p.height = x.dims[1];
  p.width = x.dims[2];
  p.spatial_scale = static_cast<float>(scale);
  if (init.output(0).dims != std::vector<int64_t>{p.output_dim, p.group, p.group}) {
    return init.error("output must be [outputDim, groupSize, groupSize] a row");
  }
  *out = p;
  return Status::ok();
}

Status read_proposal_params(const OpInit& init, ProposalParams* out) {
  TRTN_TRY(init.expect_float(3, 0));
  ProposalParams p;
  double stride = 0, nms = 0, min_size = 0;
  int64_t pre = 0, post = 0;
  std::vector<double> scales, ratios;
  TRTN_TRY(init.attr_double("featStride", &stride));
  TRTN_TRY(init.attr_doubles("scales", &scales));
  TRTN_TRY(init.attr_doubles("ratios", &ratios));
  TRTN_TRY(init.attr_int("preNmsTopN", &pre));
  TRTN_TRY(init.attr_int("postNmsTopN", &post));
  TRTN_TRY(init.attr_double("nmsThresh", &nms));
  TRTN_TRY(init.attr_double("minSize", &min_size));
  if (!(stride > 0) || pre < 1 || post < 1 || !(nms > 0 && nms <= 1) || scales.empty() || ratios.empty()) {
    return init.error("needs featStride > 0, pre / postNmsTopN >= 1, nmsThresh in (0, 1], scales and ratios");
  }
  const int64_t a = static_cast<int64_t>(scales.size() * ratios.size());
  const TensorDesc &scores = init.input(0), &deltas = init.input(1), &info = init.input(2);
  if (scores.dims.size() != 3 || scores.dims[0] != 2 * a)
    return init.error("needs scores [2 x anchors, H, W] per image");
  if (deltas.dims != std::vector<int64_t>{4 * a, scores.dims[1], scores.dims[2]}) {
    return init.error("needs box deltas [4 x anchors, H, W] like the scores");
  }
  if (info.volume != 3 || scores.rows != 1 || deltas.rows != 1 || info.rows != 1)
    return init.error("needs im_info [3] per image");
  if (init.node.outputs.size() > 2 || init.output(0).volume != 5 || init.output(0).rows != post) {
    return init.error("gives regions [postNmsTopN rows, 5] (and scores [postNmsTopN rows, 1])");
  }
  p.scores_out = init.node.outputs.size() == 2;
  if (p.scores_out && (init.output(1).volume != 1 || init.output(1).rows != post)) {
    return init.error("gives scores [postNmsTopN rows, 1]");
  }
  p.height = scores.dims[1];
  p.width = scores.dims[2];
  p.feat_stride = static_cast<float>(stride);
  p.nms_thresh = static_cast<float>(nms);
  p.min_size = static_cast<float>(min_size);
  p.pre_nms_top_n = pre;
  p.rows = post;
  // generate_anchors: the 16 x 16 base box centred at 7.5, for each ratio the area-preserving
  // width and height (rounded as numpy does), for each scale those times the scale.
  for (double r : ratios) {
    // numpy's round (halves to even): nearbyint in the default rounding mode.
    const double ws = std::nearbyint(std::sqrt(256.0 / r));
    const double hs = std::nearbyint(ws * r);
    for (double s : scales) {
      const double w = ws * s, h = hs * s;
      p.anchors.push_back({static_cast<float>(7.5 - 0.5 * (w - 1)), static_cast<float>(7.5 - 0.5 * (h - 1)),
                           static_cast<float>(7.5 + 0.5 * (w - 1)), static_cast<float>(7.5 + 0.5 * (h - 1))});
    }
  }
  *out = std::move(p);
  return Status::ok();
}

}  // namespace trtn
