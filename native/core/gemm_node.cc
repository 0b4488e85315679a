#include "core/gemm_node.h"

namespace trtn {
namespace {

// A per-axis attribute: absent gives `fallback` on every axis, one value stands for every axis.
Status spatial_attr(const OpInit& init, const std::string& key, size_t axes, int64_t fallback, int64_t min,
                    std::vector<int64_t>* out) {
  out->assign(axes, fallback);
  if (!init.node.attrs.has(key)) return Status::ok();
  std::vector<int64_t> v;
  TRTN_TRY(init.attr_ints(key, &v));
  if (v.size() == 1) v.assign(axes, v[0]);
  if (v.size() != axes) {
    return init.error(key + " has " + std::to_string(v.size()) + " values for " + std::to_string(axes) +
                      " spatial axes");
  }
  for (int64_t x : v) {
    if (x < min) return init.error(key + " values must be >= " + std::to_string(min) + ", got " + dims_text(v));
  }
  *out = v;
  return Status::ok();
}

Status optional_int(const OpInit& init, const std::string& key, int64_t fallback, int64_t* out) {
  *out = fallback;
  return init.node.attrs.has(key) ? init.attr_int(key, out) : Status::ok();
}

}  // namespace

Status read_conv_geometry(const OpInit& init, bool deconv, ConvGeometry* out) {
  const Node& n = init.node;
  if (n.inputs.empty() || n.outputs.size() != n.inputs.size()) {
    return init.error("expects one or more inputs and as many outputs (one per input)");
  }
  const std::vector<int64_t>& in = init.input(0).dims;
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    if (init.input(i).dims != in) {
      return init.error("all inputs must have one shape; got " + dims_text(in) + " and " +
                        dims_text(init.input(i).dims));
    }
  }
  if (in.size() < 2) return init.error("input " + dims_text(in) + " needs channels and at least one spatial axis");
  const size_t axes = in.size() - 1;
  if (axes > kMaxSpatialAxes)
    return init.error("at most " + std::to_string(kMaxSpatialAxes) + " spatial axes are supported");
  ConvGeometry g;
  int64_t axis = 1;
  TRTN_TRY(init.attr_int("numOutput", &g.channels_out));
  TRTN_TRY(init.attr_ints("kernel", &g.kernel));
  TRTN_TRY(optional_int(init, "group", 1, &g.group));
  TRTN_TRY(optional_int(init, "axis", 1, &axis));
  if (axis != 1) return init.error("axis must be 1 (channels right after the batch), got " + std::to_string(axis));
  if (g.kernel.size() == 1) g.kernel.assign(axes, g.kernel[0]);
  if (g.kernel.size() != axes) {
    return init.error("kernel " + dims_text(g.kernel) + " does not match the " + std::to_string(axes) +
                      " spatial axes of " + dims_text(in));
  }
  for (int64_t k : g.kernel) {
    if (k < 1) return init.error("kernel sizes must be >= 1, got " + dims_text(g.kernel));
  }
  TRTN_TRY(spatial_attr(init, "stride", axes, 1, 1, &g.stride));
  TRTN_TRY(spatial_attr(init, "pad", axes, 0, 0, &g.pad));
  TRTN_TRY(spatial_attr(init, "dilation", axes, 1, 1, &g.dilation));
  g.channels_in = in[0];
  if (g.channels_out < 1) return init.error("numOutput must be >= 1");
  if (g.group < 1 || g.channels_in % g.group != 0 || g.channels_out % g.group != 0) {
    return init.error("group " + std::to_string(g.group) + " must divide the input channels (" +
                      std::to_string(g.channels_in) + ") and numOutput (" + std::to_string(g.channels_out) + ")");
  }
  g.in.assign(in.begin() + 1, in.end());
  std::vector<int64_t> want{g.channels_out};
  for (size_t a = 0; a < axes; ++a) {
    const int64_t extent = g.dilation[a] * (g.kernel[a] - 1) + 1;
    const int64_t o = deconv ? g.stride[a] * (g.in[a] - 1) + extent - 2 * g.pad[a]
                             : (g.in[a] + 2 * g.pad[a] - extent) / g.stride[a] + 1;
    if (o < 1 || (!deconv && g.in[a] + 2 * g.pad[a] < extent)) {
      return init.error("spatial axis " + std::to_string(a) + ": input " + std::to_string(g.in[a]) + " with kernel " +
                        std::to_string(g.kernel[a]) + ", dilation " + std::to_string(g.dilation[a]) + ", pad " +
                        std::to_string(g.pad[a]) + ", stride " + std::to_string(g.stride[a]) + " gives no output");
    }
    g.out.push_back(o);
    want.push_back(o);
    g.in_volume *= g.in[a];
    g.out_volume *= o;
    g.kernel_volume *= g.kernel[a];
  }
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (init.output(i).dims != want) {
      return init.error("output '" + init.output(i).name + "' is " + dims_text(init.output(i).dims) + ", expected " +
                        dims_text(want));
    }
  }
  *out = std::move(g);
  return Status::ok();
}

Status find_gemm_blobs(const OpInit& init, const std::vector<int64_t>& weight_dims, int64_t channels,
                       const Blob** weights, const Blob** bias, const Blob** wscale) {
  const bool int8 = init.node.precision == Precision::kINT8;
  const DType wtype = int8 ? DType::kInt8 : DType::kFloat32;
  *weights = init.blob("weights");
  *bias = init.blob("bias");
  *wscale = int8 ? init.blob("wscale") : nullptr;
  if (*weights == nullptr || (*weights)->dtype != wtype || (*weights)->dims != weight_dims ||
      static_cast<int64_t>(int8 ? (*weights)->i8.size() : (*weights)->f32.size()) != volume_of(weight_dims)) {
    return init.error(std::string("needs prepared ") + (int8 ? "int8" : "float32") + " weights " +
                      dims_text(weight_dims));
  }
  auto per_channel = [channels](const Blob* b) {
    return b != nullptr && b->dtype == DType::kFloat32 && b->volume() == channels &&
           static_cast<int64_t>(b->f32.size()) == channels;
  };
  if (!per_channel(*bias))
    return init.error("needs a prepared float32 bias of " + std::to_string(channels) + " values");
  if (int8 && !per_channel(*wscale)) {
    return init.error("needs prepared weight scales (wscale) of " + std::to_string(channels) + " values");
  }
  return Status::ok();
}

Status check_gemm_dtypes(const OpInit& init) {
  const bool int8 = init.node.precision == Precision::kINT8;
  for (size_t i = 0; i < init.node.inputs.size(); ++i) {
    const TensorDesc& t = init.input(i);
    if ((t.dtype == DType::kInt8) != int8) {
      return init.error("input '" + t.name + "' must be " + (int8 ? "int8" : "float32") + " in " +
                        precision_name(init.node.precision));
    }
    if (int8 && !(t.scale > 0.0f)) return init.error("int8 input '" + t.name + "' needs a scale > 0");
  }
  for (size_t i = 0; i < init.node.outputs.size(); ++i) {
    const TensorDesc& t = init.output(i);
    if (t.dtype == DType::kInt8 && !int8) {
      return init.error("output '" + t.name + "' can be int8 only in int8 precision");
    }
    if (t.dtype == DType::kInt8 && !(t.scale > 0.0f))
      return init.error("int8 output '" + t.name + "' needs a scale > 0");
  }
  return Status::ok();
}

void int8_multipliers(float input_scale, const std::vector<float>& wscale, const std::vector<float>& bias,
                      const TensorDesc& output, std::vector<float>* mul, std::vector<float>* add) {
  const bool int8_output = output.dtype == DType::kInt8;
  const size_t n = wscale.size();
  mul->resize(n);
  add->resize(n);
  const double sx = input_scale, sy = output.scale;
  for (size_t c = 0; c < n; ++c) {
    const double sw = wscale[c];
    if (int8_output) {
      (*mul)[c] = static_cast<float>(sx * sw / sy);
      (*add)[c] = static_cast<float>(static_cast<double>(bias[c]) / sy);
    } else {
      (*mul)[c] = static_cast<float>(sx * sw);
      (*add)[c] = bias[c];
    }
  }
}

}  // namespace trtn
