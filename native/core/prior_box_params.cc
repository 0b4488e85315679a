#include "core/prior_box_params.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace trtn {
namespace {

/// The attributes, read and checked.
struct PriorBoxAttrs {
  std::vector<double> min_sizes, max_sizes, ratios, variances;
  bool clip = false;
  double image_h = 0, image_w = 0, step_h = 0, step_w = 0, offset = 0.5;
  int64_t layer_h = 0, layer_w = 0, per_cell = 0;
};

Status read_attrs(const OpInit& init, PriorBoxAttrs* a) {
  TRTN_TRY(init.attr_doubles("minSizes", &a->min_sizes));
  TRTN_TRY(init.attr_doubles("maxSizes", &a->max_sizes));
  TRTN_TRY(init.attr_doubles("aspectRatios", &a->ratios));
  TRTN_TRY(init.attr_doubles("variances", &a->variances));
  TRTN_TRY(init.attr_bool("clip", &a->clip));
  TRTN_TRY(init.attr_double("imageHeight", &a->image_h));
  TRTN_TRY(init.attr_double("imageWidth", &a->image_w));
  TRTN_TRY(init.attr_double("stepH", &a->step_h));
  TRTN_TRY(init.attr_double("stepW", &a->step_w));
  TRTN_TRY(init.attr_double("offset", &a->offset));
  TRTN_TRY(init.attr_int("layerHeight", &a->layer_h));
  TRTN_TRY(init.attr_int("layerWidth", &a->layer_w));
  TRTN_TRY(init.attr_int("priorsPerCell", &a->per_cell));
  if (a->min_sizes.empty()) return init.error("needs at least one min size");
  if (!a->max_sizes.empty() && a->max_sizes.size() != a->min_sizes.size()) {
    return init.error("needs one max size per min size");
  }
  if (a->ratios.empty() || a->ratios[0] != 1.0) return init.error("aspectRatios must start with 1");
  if (a->variances.size() != 4) return init.error("needs 4 variances");
  if (!(a->image_h > 0 && a->image_w > 0 && a->step_h > 0 && a->step_w > 0)) {
    return init.error("image size and steps must be > 0");
  }
  const int64_t per_cell = static_cast<int64_t>(a->ratios.size() * a->min_sizes.size() + a->max_sizes.size());
  if (a->per_cell != per_cell) return init.error("priorsPerCell does not match the sizes and aspect ratios");
  return Status::ok();
}

}  // namespace

Status read_prior_box_params(const OpInit& init, PriorBoxParams* out) {
  TRTN_TRY(init.expect_float(2, 1));
  PriorBoxAttrs a;
  TRTN_TRY(read_attrs(init, &a));
  const TensorDesc& feature = init.input(0);
  if (feature.dims.size() != 3 || feature.dims[1] != a.layer_h || feature.dims[2] != a.layer_w) {
    return init.error("input 0 must be a [C, " + std::to_string(a.layer_h) + ", " + std::to_string(a.layer_w) +
                      "] feature map");
  }
  const int64_t count = a.layer_h * a.layer_w * a.per_cell * 4;
  if (init.output(0).dims != std::vector<int64_t>{2, count}) {
    return init.error("the output must be [2, " + std::to_string(count) + "]");
  }
  std::vector<float> v;
  v.reserve(static_cast<size_t>(2 * count));
  // Caffe keeps the centres and sizes in float and the corners in double.
  auto push = [&](float cx, float cy, float bw, float bh) {
    const double corners[4] = {(cx - bw / 2.) / a.image_w, (cy - bh / 2.) / a.image_h, (cx + bw / 2.) / a.image_w,
                               (cy + bh / 2.) / a.image_h};
    for (double c : corners) v.push_back(static_cast<float>(a.clip ? std::min(std::max(c, 0.0), 1.0) : c));
  };
  const float step_w = static_cast<float>(a.step_w), step_h = static_cast<float>(a.step_h);
  const float offset = static_cast<float>(a.offset);
  for (int64_t h = 0; h < a.layer_h; ++h) {
    for (int64_t w = 0; w < a.layer_w; ++w) {
      const float cx = (static_cast<float>(w) + offset) * step_w;
      const float cy = (static_cast<float>(h) + offset) * step_h;
      for (size_t s = 0; s < a.min_sizes.size(); ++s) {
        // SSD's Caffe takes the sizes as integers (truncated).
        const int min_size = static_cast<int>(a.min_sizes[s]);
        push(cx, cy, static_cast<float>(min_size), static_cast<float>(min_size));
        if (!a.max_sizes.empty()) {
          const int max_size = static_cast<int>(a.max_sizes[s]);
          const float side = static_cast<float>(std::sqrt(static_cast<double>(min_size) * max_size));
          push(cx, cy, side, side);
        }
        for (double r : a.ratios) {
          const float ar = static_cast<float>(r);
          if (std::fabs(ar - 1.f) < 1e-6f) continue;
          push(cx, cy, static_cast<float>(min_size) * std::sqrt(ar), static_cast<float>(min_size) / std::sqrt(ar));
        }
      }
    }
  }
  for (int64_t i = 0; i < count; ++i) v.push_back(static_cast<float>(a.variances[static_cast<size_t>(i % 4)]));
  out->values = std::move(v);
  return Status::ok();
}

}  // namespace trtn
