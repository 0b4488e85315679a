#include "core/pooling_params.h"

#include <string>
#include <vector>

namespace trtn {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/// Caffe's pooled size along one axis (PoolingLayer::Reshape).
int64_t pooled_size(int64_t extent, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode, bool padded) {
  const int64_t span = extent + 2 * pad - kernel;
  int64_t out = (ceil_mode ? ceil_div(span, stride) : floor_div(span, stride)) + 1;
  // With padding, a last window that would start in the padding is dropped.
  if (padded && (out - 1) * stride >= extent + pad) --out;
  return out;
}

}  // namespace

Status read_pooling_params(const OpInit& init, PoolingParams* out) {
  const size_t outputs = init.node.outputs.size();
  if (init.node.inputs.size() != 1 || outputs < 1 || outputs > 2) {
    return init.error("expects 1 input and 1 or 2 outputs (the second is the MAX argmax mask)");
  }
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  std::string method_name, round_mode;
  std::vector<int64_t> kernel, stride, pad;
  bool global = false;
  TRTN_TRY(init.attr_string("method", &method_name));
  TRTN_TRY(init.attr_ints("kernel", &kernel));
  TRTN_TRY(init.attr_ints("stride", &stride));
  TRTN_TRY(init.attr_ints("pad", &pad));
  TRTN_TRY(init.attr_bool("global", &global));
  TRTN_TRY(init.attr_string("roundMode", &round_mode));

  PoolingParams g;
  if (method_name == "MAX")
    g.method = PoolMethod::kMax;
  else if (method_name == "AVE")
    g.method = PoolMethod::kAve;
  else if (method_name == "STOCHASTIC")
    g.method = PoolMethod::kStochastic;
  else
    return init.error("unknown pooling method '" + method_name + "' (expected MAX, AVE or STOCHASTIC)");
  if (round_mode != "CEIL" && round_mode != "FLOOR") {
    return init.error("unknown roundMode '" + round_mode + "' (expected CEIL or FLOOR)");
  }
  if (kernel.size() != 2 || stride.size() != 2 || pad.size() != 2) {
    return init.error("kernel, stride and pad need one value per spatial axis (2)");
  }
  const TensorDesc& in = init.input(0);
  if (in.dims.size() != 3) return init.error("needs a 4-D input (N, C, H, W)");

  g.channels = in.dims[0];
  g.height = in.dims[1];
  g.width = in.dims[2];
  if (global) {
    // Global pooling takes the whole plane, whatever kernel the attributes carry.
    kernel = {g.height, g.width};
    if (pad[0] != 0 || pad[1] != 0 || stride[0] != 1 || stride[1] != 1) {
      return init.error("global pooling needs pad 0 and stride 1");
    }
  }
  g.kernel_h = kernel[0];
  g.kernel_w = kernel[1];
  g.stride_h = stride[0];
  g.stride_w = stride[1];
  g.pad_h = pad[0];
  g.pad_w = pad[1];
  if (g.kernel_h < 1 || g.kernel_w < 1) return init.error("kernel must be > 0");
  if (g.stride_h < 1 || g.stride_w < 1) return init.error("stride must be > 0");
  if (g.pad_h < 0 || g.pad_w < 0 || g.pad_h >= g.kernel_h || g.pad_w >= g.kernel_w) {
    return init.error("pad must be >= 0 and smaller than the kernel");
  }
  if (g.method == PoolMethod::kStochastic && (g.pad_h != 0 || g.pad_w != 0)) {
    return init.error("STOCHASTIC pooling takes no padding");
  }
  const bool ceil_mode = round_mode == "CEIL";
  const bool padded = g.pad_h > 0 || g.pad_w > 0;
  g.out_h = pooled_size(g.height, g.kernel_h, g.stride_h, g.pad_h, ceil_mode, padded);
  g.out_w = pooled_size(g.width, g.kernel_w, g.stride_w, g.pad_w, ceil_mode, padded);
  if (g.out_h < 1 || g.out_w < 1) return init.error("the input is smaller than the kernel");
  const std::vector<int64_t> want = {g.channels, g.out_h, g.out_w};
  for (size_t i = 0; i < outputs; ++i) {
    if (init.output(i).dims != want) {
      return init.error("output '" + init.output(i).name + "' does not have Caffe's pooled shape [" +
                        std::to_string(g.channels) + ", " + std::to_string(g.out_h) + ", " + std::to_string(g.out_w) +
                        "]");
    }
  }
  g.mask = outputs == 2;
  if (g.mask && g.method != PoolMethod::kMax) {
    return init.error("only MAX pooling has a second output (the argmax mask)");
  }
  if (g.mask && init.output(1).dtype != DType::kFloat32) return init.error("the argmax mask must be float32");

  if (init.node.precision == Precision::kINT8) {
    if (g.method == PoolMethod::kStochastic) return init.error("STOCHASTIC pooling has no INT8 form");
    if (in.dtype != DType::kInt8) return init.error("an INT8 node needs an int8 input");
    const TensorDesc& y = init.output(0);
    if (y.dtype == DType::kInt8 && y.scale != in.scale) {
      return init.error("an INT8 pooling output keeps its input's scale (" + std::to_string(in.scale) + "), not " +
                        std::to_string(y.scale));
    }
    g.int8 = true;
    g.float_out = y.dtype == DType::kFloat32;
    g.scale = in.scale;
  } else if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("a " + std::string(precision_name(init.node.precision)) + " node needs float32 tensors");
  }
  *out = g;
  return Status::ok();
}

}  // namespace trtn
