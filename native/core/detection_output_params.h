// What a DetectionOutput node means on every backend (SSD's Caffe), per image:
//  1. each prior's box is decoded from its loc prediction (code type CORNER, CENTER_SIZE or
//     CORNER_SIZE; the prior's variances scale the prediction unless they are encoded in it);
//  2. per class other than the background: the priors whose score is above the confidence
//     threshold, by score descending (ties: lower prior first), the first top_k of them, then
//     greedy NMS: a box is kept when its IoU with every kept box of the class is <= the NMS
//     threshold (eta < 1 lowers the threshold after each keep while it is above 0.5);
//  3. keep_top_k over all classes: the highest scores (ties: lower class, then earlier in its
//     class's NMS order);
//  4. rows [image, label, score, xmin, ymin, xmax, ymax], class by class in ascending order, each in
//     its NMS order; the rest of the image's max_detections rows are [image, -1, -1, -1, -1, -1, -1].
// The boxes are not clipped (as in Caffe) unless `clip` (OpenCV's field) is set. IoU is on normalised boxes (no +1 in
// sizes).
#pragma once

#include <math.h>

#include <cstdint>

#include "core/op_init.h"

// The box math below runs on the host (cpu backend) and in the cuda kernels, the same code.
#if defined(__CUDACC__)
#define TRTN_BOX_FN __host__ __device__ inline
#else
#define TRTN_BOX_FN inline
#endif

namespace trtn {

enum class BoxCode { kCorner = 1, kCenterSize = 2, kCornerSize = 3 };

/// A checked DetectionOutput node.
struct DetectionOutputParams {
  int64_t num_classes = 0;
  int64_t loc_classes = 1;  // 1 with share_location, else num_classes
  int64_t background = 0;   // -1 (or out of range): none
  float nms_threshold = 0.3f;
  float eta = 1.0f;
  int64_t top_k = -1;       // -1: all
  int64_t keep_top_k = -1;  // -1: all
  float confidence_threshold = 0.0f;
  BoxCode code = BoxCode::kCorner;
  bool variance_encoded = false;
  bool clip = false;  // OpenCV's clip: decoded boxes clamped to [0, 1]
  int64_t num_priors = 0;
  int64_t max_detections = 1;  // output rows per image
  /// Candidates per class after top_k: min(top_k, priors).
  int64_t per_class() const { return top_k < 0 ? num_priors : (top_k < num_priors ? top_k : num_priors); }
};

/// Reads the resolved attributes (lib/network/layers/detection.ts); checks loc [priors * loc_classes
/// * 4], conf [priors * classes], priors [2, priors * 4] and the output [1, max_detections, 7].
Status read_detection_output_params(const OpInit& init, DetectionOutputParams* out);

/// Decodes one prediction `l` against its prior box `b` (xmin, ymin, xmax, ymax) and variances `v`.
TRTN_BOX_FN void decode_box(BoxCode code, bool encoded, const float* b, const float* v, const float* l, float* out) {
  using F = float;
  const F k0 = encoded ? F(1) : v[0], k1 = encoded ? F(1) : v[1], k2 = encoded ? F(1) : v[2],
          k3 = encoded ? F(1) : v[3];
  const F pw = b[2] - b[0], ph = b[3] - b[1];
  if (code == BoxCode::kCorner) {
    out[0] = b[0] + k0 * l[0], out[1] = b[1] + k1 * l[1], out[2] = b[2] + k2 * l[2], out[3] = b[3] + k3 * l[3];
  } else if (code == BoxCode::kCornerSize) {
    out[0] = b[0] + k0 * l[0] * pw, out[1] = b[1] + k1 * l[1] * ph;
    out[2] = b[2] + k2 * l[2] * pw, out[3] = b[3] + k3 * l[3] * ph;
  } else {
    const F cx = k0 * l[0] * pw + (b[0] + b[2]) / F(2), cy = k1 * l[1] * ph + (b[1] + b[3]) / F(2);
    const F w = expf(k2 * l[2]) * pw, h = expf(k3 * l[3]) * ph;
    out[0] = cx - w / F(2), out[1] = cy - h / F(2), out[2] = cx + w / F(2), out[3] = cy + h / F(2);
  }
}

/// Intersection over union of two normalised boxes; 0 when they do not meet.
TRTN_BOX_FN float box_iou(const float* p, const float* q) {
  using F = float;
  if (q[0] > p[2] || q[2] < p[0] || q[1] > p[3] || q[3] < p[1]) return F(0);
  auto area = [](F x0, F y0, F x1, F y1) { return (x1 < x0 || y1 < y0) ? F(0) : (x1 - x0) * (y1 - y0); };
  const F inter =
      area(p[0] > q[0] ? p[0] : q[0], p[1] > q[1] ? p[1] : q[1], p[2] < q[2] ? p[2] : q[2], p[3] < q[3] ? p[3] : q[3]);
  return inter / (area(p[0], p[1], p[2], p[3]) + area(q[0], q[1], q[2], q[3]) - inter);
}

}  // namespace trtn
