#include "core/lrn_params.h"

#include <string>

namespace trtn {

Status read_lrn_params(const OpInit& init, LrnParams* out) {
  TRTN_TRY(init.expect_io(1, 1));
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  int64_t size = 0;
  double alpha = 0, beta = 0, k = 0;
  std::string region;
  TRTN_TRY(init.attr_int("localSize", &size));
  TRTN_TRY(init.attr_double("alpha", &alpha));
  TRTN_TRY(init.attr_double("beta", &beta));
  TRTN_TRY(init.attr_double("k", &k));
  TRTN_TRY(init.attr_string("region", &region));
  if (size < 1 || size % 2 == 0) return init.error("localSize must be odd and > 0, got " + std::to_string(size));
  if (region != "ACROSS_CHANNELS" && region != "WITHIN_CHANNEL") {
    return init.error("unknown region '" + region + "' (expected ACROSS_CHANNELS or WITHIN_CHANNEL)");
  }
  const TensorDesc& in = init.input(0);
  if (in.dims.size() != 3) return init.error("needs a 4-D input (N, C, H, W)");
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  const TensorDesc& y = init.output(0);
  LrnParams p;
  if (init.node.precision == Precision::kINT8) {
    if (in.dtype != DType::kInt8 || !(in.scale > 0)) return init.error("an INT8 LRN needs an int8 input with a scale");
    if (y.dtype == DType::kInt8 && !(y.scale > 0)) return init.error("an int8 output needs a scale");
    p.in_scale = in.scale;
    p.out_scale = y.dtype == DType::kInt8 ? y.scale : 0.0f;
  } else if (in.dtype != DType::kFloat32 || y.dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  p.across_channels = region == "ACROSS_CHANNELS";
  p.channels = in.dims[0];
  p.height = in.dims[1];
  p.width = in.dims[2];
  p.size = size;
  // Caffe's LRNParameter holds these as float.
  p.alpha = static_cast<float>(alpha);
  p.beta = static_cast<float>(beta);
  p.k = static_cast<float>(k);
  *out = p;
  return Status::ok();
}

LrnInt8 lrn_int8(const LrnParams& p) {
  // volatile: each product and quotient rounded to float32 on its own, whatever the compiler's
  // contraction or excess-precision settings.
  volatile float alpha_over_size = p.alpha / static_cast<float>(p.size);
  volatile float s2 = p.in_scale * p.in_scale;
  volatile float sq_scale = alpha_over_size * s2;
  volatile float out_factor = p.out_scale > 0 ? p.in_scale / p.out_scale : 0.0f;
  return LrnInt8{sq_scale, out_factor};
}

}  // namespace trtn
