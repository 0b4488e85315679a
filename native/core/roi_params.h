// Faster R-CNN's region layers on every backend (docs/network.md, "Region layers"). Region tensors
// have `rows` R per image: regions [R, 5] per image (image index, x1, y1, x2, y2 in input pixels;
// image -1 for rows past an image's proposals), pooled features [R, C, ph, pw] per image.
// - ROIPooling (caffe-fast-rcnn): corners round(x * scale) (halves away from zero), the region
//   (w, h) = (x2 - x1 + 1, y2 - y1 + 1) at least 1, bins of float size h / ph; bin i covers rows
//   [floor(i bh), ceil((i + 1) bh)) + y1 clamped to the map; the maximum, 0 for an empty bin.
// - PSROIPooling (R-FCN): corners round(x) * scale, (x2 + 1) * scale; size at least 0.1; bin (i, j)
//   of output channel c averages input channel (c g + i) g + j over [floor(i bh + y1),
//   ceil((i + 1) bh + y1)); 0 for an empty bin.
// - Proposal (py-faster-rcnn's rpn.proposal_layer, TEST): anchors (base 16) at every cell, decoded
//   in float32, clipped to the image, boxes under min_size x im_info scale dropped, the best
//   pre_nms_topN by score (ties: lower anchor index first), greedy NMS (IoU > thresh suppressed),
//   the first post_nms_topN kept; rows past them [-1, 0, 0, 0, 0] (score 0).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

struct RoiPoolingParams {
  int64_t channels = 0, height = 0, width = 0;  // the feature map
  int64_t pooled_h = 0, pooled_w = 0;
  int64_t rows = 1;  // regions per image
  float spatial_scale = 1.0f;
};
Status read_roi_pooling_params(const OpInit& init, RoiPoolingParams* out);

struct PsRoiPoolingParams {
  int64_t channels = 0, height = 0, width = 0;
  int64_t output_dim = 0, group = 0;
  int64_t rows = 1;
  float spatial_scale = 1.0f;
};
Status read_psroi_pooling_params(const OpInit& init, PsRoiPoolingParams* out);

struct ProposalParams {
  int64_t height = 0, width = 0;              // feature cells
  std::vector<std::array<float, 4>> anchors;  // at cell (0, 0), in (ratio, scale) order
  float feat_stride = 16.0f, nms_thresh = 0.7f, min_size = 16.0f;
  int64_t pre_nms_top_n = 6000, rows = 300;  // rows: post_nms_topN
  bool scores_out = false;
};
Status read_proposal_params(const OpInit& init, ProposalParams* out);

}  // namespace trtn
