#include "core/preprocess_params.h"

#include <cmath>
#include <string>

namespace trtn {
namespace {

Status check_tensors(const OpInit& init, PreprocessParams* p) {
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  if (x.dtype != DType::kUInt8 || x.dims.size() != 3) {
    return init.error("needs a uint8 image input [H, W, C], got " + std::string(dtype_name(x.dtype)) + " " +
                      dims_text(x.dims));
  }
  if (y.dims.size() != 3 || (y.dtype != DType::kFloat32 && y.dtype != DType::kInt8)) {
    return init.error("writes a float32 or int8 [C, H, W] tensor, got " + std::string(dtype_name(y.dtype)) + " " +
                      dims_text(y.dims));
  }
  p->in_h = x.dims[0];
  p->in_w = x.dims[1];
  p->channels = x.dims[2];
  p->out_h = y.dims[1];
  p->out_w = y.dims[2];
  if (p->channels > kMaxImageChannels) {
    return init.error("images have 1 to " + std::to_string(kMaxImageChannels) + " channels, got " +
                      std::to_string(p->channels));
  }
  if (y.dims[0] != p->channels) {
    return init.error("the output has " + std::to_string(y.dims[0]) + " channels, the image " +
                      std::to_string(p->channels));
  }
  p->quantize = y.dtype == DType::kInt8;
  p->out_scale = y.scale;
  if (p->quantize != (init.node.precision == Precision::kINT8)) {
    return init.error("writes int8 exactly when its precision is int8 (the input's Quantize fused in)");
  }
  return Status::ok();
}

Status read_crop(const OpInit& init, PreprocessParams* p) {
  std::vector<int64_t> offset;
  TRTN_TRY(init.attr_ints("offset", &offset));
  if (offset.size() != 2) return init.error("offset is [h_off, w_off]");
  p->h_off = offset[0];
  p->w_off = offset[1];
  if (p->h_off < 0 || p->w_off < 0 || p->h_off + p->out_h > p->in_h || p->w_off + p->out_w > p->in_w) {
    return init.error("cannot crop " + std::to_string(p->out_h) + "x" + std::to_string(p->out_w) + " at (" +
                      std::to_string(p->h_off) + ", " + std::to_string(p->w_off) + ") from a " +
                      std::to_string(p->in_h) + "x" + std::to_string(p->in_w) + " image");
  }
  return Status::ok();
}

Status read_mean(const OpInit& init, PreprocessParams* p) {
  const Blob* blob = init.blob("0");
  const bool has_values = init.node.attrs.has("mean");
  if ((blob != nullptr) == has_values || init.node.weights.size() != (blob != nullptr ? 1u : 0u)) {
    return init.error("needs either mean values (attrs.mean) or a mean blob '" + init.node.name + "/0', not both");
  }
  if (has_values) {
    std::vector<double> mean;
    TRTN_TRY(init.attr_doubles("mean", &mean));
    if (static_cast<int64_t>(mean.size()) != p->channels) {
      return init.error("needs one mean value per channel (" + std::to_string(p->channels) + "), got " +
                        std::to_string(mean.size()));
    }
    for (double m : mean) p->mean.push_back(static_cast<float>(m));
    return Status::ok();
  }
  const std::vector<int64_t> want{p->channels, p->in_h, p->in_w};
  if (blob->dtype != DType::kFloat32 || blob->dims != want) {
    return init.error("its mean blob must be float32 " + dims_text(want) + " (the image's size), got " +
                      dims_text(blob->dims));
  }
  p->mean = blob->f32;
  p->mean_per_pixel = true;
  return Status::ok();
}

}  // namespace

Status read_preprocess_params(const OpInit& init, PreprocessParams* out) {
  TRTN_TRY(init.expect_io(1, 1));
  if (init.node.activation.relu || !init.node.fold.empty()) return init.error("takes no fused layers");
  PreprocessParams p;
  TRTN_TRY(check_tensors(init, &p));
  TRTN_TRY(read_crop(init, &p));
  TRTN_TRY(init.attr_bool("swapChannels", &p.swap));
  if (p.swap && p.channels != 3)
    return init.error("swaps channels of 3-channel images only, got " + std::to_string(p.channels));
  double scale = 1;
  TRTN_TRY(init.attr_double("scale", &scale));
  p.scale = static_cast<float>(scale);
  if (!std::isfinite(p.scale)) return init.error("scale must be finite");
  TRTN_TRY(read_mean(init, &p));
  for (float m : p.mean) {
    if (!std::isfinite(m)) return init.error("mean values must be finite");
  }
  *out = std::move(p);
  return Status::ok();
}

}  // namespace trtn
