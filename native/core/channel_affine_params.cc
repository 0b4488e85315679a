#include "core/channel_affine_params.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace trtn {
namespace {

/// Channel layout of BatchNorm: Caffe's channels are dim 1 (1 for a 1-D input).
AffineLayout channel_layout(const TensorDesc& in) {
  AffineLayout l;
  if (!in.dims.empty()) {
    l.dim = in.dims[0];
    for (size_t d = 1; d < in.dims.size(); ++d) l.inner *= in.dims[d];
  }
  return l;
}

Status read_batch_norm(const OpInit& init, ChannelAffineParams* p) {
  TRTN_TRY(init.expect_io(1, 1));
  double eps = 0;
  bool global = true;
  TRTN_TRY(init.attr_double("eps", &eps));
  if (init.node.attrs.has("useGlobalStats")) TRTN_TRY(init.attr_bool("useGlobalStats", &global));
  const TensorDesc& in = init.input(0);
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  p->layout = channel_layout(in);
  const AffineLayout& l = p->layout;
  if (!global) {
    p->kind = ChannelAffineParams::Kind::kBatchStatsBatchNorm;
    p->eps = eps;
    return Status::ok();
  }
  const Blob* mean = init.blob("0");
  const Blob* var = init.blob("1");
  const Blob* factor = init.blob("2");
  if (mean == nullptr || var == nullptr || factor == nullptr) {
    return init.error("needs blobs mean [C], variance [C] and the moving-average factor [1]");
  }
  if (mean->volume() != l.dim || var->volume() != l.dim || factor->volume() != 1) {
    return init.error("blobs must be mean [" + std::to_string(l.dim) + "], variance [" + std::to_string(l.dim) +
                      "] and factor [1]");
  }
  // Caffe's moving-average normalisation; a zero factor means statistics never accumulated.
  const double f = factor->f32[0];
  const double sf = f == 0 ? 0 : 1 / f;
  p->kind = ChannelAffineParams::Kind::kGlobalBatchNorm;
  p->mean.resize(l.dim);
  p->inv_std.resize(l.dim);
  for (int64_t c = 0; c < l.dim; ++c) {
    p->mean[c] = static_cast<float>(mean->f32[c] * sf);
    p->inv_std[c] = static_cast<float>(1 / std::sqrt(var->f32[c] * sf + eps));
  }
  return Status::ok();
}

std::string blob_error(const std::string& what, int64_t want, const Blob* got) {
  return "needs a " + what + " blob of " + std::to_string(want) + " values, " +
         (got == nullptr ? std::string("got none") : "got " + std::to_string(got->volume()));
}

/// Scale (is_scale) and Bias.
Status read_scale_or_bias(const OpInit& init, bool is_scale, ChannelAffineParams* p) {
  const size_t inputs = init.node.inputs.size();
  if (inputs < 1 || inputs > 2 || init.node.outputs.size() != 1) {
    return init.error("expects 1 or 2 inputs and 1 output");
  }
  int64_t axis = 0, num_axes = 0;
  bool bias_term = !is_scale;
  TRTN_TRY(init.attr_int("axis", &axis));
  TRTN_TRY(init.attr_int("numAxes", &num_axes));
  if (is_scale) TRTN_TRY(init.attr_bool("biasTerm", &bias_term));
  const TensorDesc& in = init.input(0);
  const int64_t rank = static_cast<int64_t>(in.dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return init.error("axis is out of range for a " + std::to_string(rank) + "-D input");

  AffineLayout& l = p->layout;
  const bool from_input = inputs == 2;
  int64_t first = 0, last = 0;  // the operand's dims among the per-image dims: [first, last)
  if (from_input) {
    // Every tensor leads with the batch, so an operand input lines up with the input only from
    // axis 0: one operand of dims [0, k) per image.
    const TensorDesc& operand = init.input(1);
    if (axis != 0) {
      return init.error("an operand given as the second input must start at axis 0 (both lead with the batch)");
    }
    if (operand.dims.size() > in.dims.size() ||
        !std::equal(operand.dims.begin(), operand.dims.end(), in.dims.begin())) {
      return init.error("the second input's shape must match the first input's leading dimensions");
    }
    if (operand.dtype != DType::kFloat32) return init.error("needs float32 tensors");
    first = 0;
    last = static_cast<int64_t>(operand.dims.size());
  } else {
    const int64_t end = num_axes == -1 ? rank : axis + num_axes;
    if (num_axes < -1 || end > rank) return init.error("axis and numAxes run past the input");
    if (axis == 0 && end > 0) {
      return init.error("a learned operand cannot span the batch dimension (axis 0); the batch is chosen at run time");
    }
    first = std::max<int64_t>(axis - 1, 0);
    last = std::max<int64_t>(end - 1, 0);
  }
  for (int64_t d = 0; d < first; ++d) l.outer *= in.dims[d];
  for (int64_t d = first; d < last; ++d) l.dim *= in.dims[d];
  for (int64_t d = last; d < rank - 1; ++d) l.inner *= in.dims[d];

  // Blob order: Scale [scale, bias] with a learned scale; Bias [bias], or none when the bias is
  // input 1.
  if (is_scale) {
    if (from_input) {
      p->scale.source = AffineOperand::Source::kInput;
    } else {
      const Blob* b = init.blob("0");
      if (b == nullptr || b->volume() != l.dim) return init.error(blob_error("scale", l.dim, b));
      p->scale.source = AffineOperand::Source::kBlob;
      p->scale.blob = b->f32;
    }
  }
  if (!is_scale && from_input) {
    p->bias.source = AffineOperand::Source::kInput;
  } else if (bias_term) {
    // With the scale as input 1, Caffe shapes the bias blob like that operand, batch included: a
    // learned value per image of a fixed batch, which an engine whose batch is chosen per call
    // cannot hold.
    if (from_input) return init.error("a learned bias shaped like a second-input scale spans the batch dimension");
    const Blob* b = init.blob(is_scale ? "1" : "0");
    if (b == nullptr || b->volume() != l.dim) return init.error(blob_error("bias", l.dim, b));
    p->bias.source = AffineOperand::Source::kBlob;
    p->bias.blob = b->f32;
  }
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  p->kind = ChannelAffineParams::Kind::kAffine;
  return Status::ok();
}

}  // namespace

Status read_channel_affine_params(const OpInit& init, ChannelAffineParams* out) {
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  if (init.node.precision == Precision::kINT8) return init.error("has no INT8 form (docs/int8.md)");
  ChannelAffineParams p;
  if (init.node.op == "BatchNorm") {
    TRTN_TRY(read_batch_norm(init, &p));
  } else if (init.node.op == "Scale") {
    TRTN_TRY(read_scale_or_bias(init, true, &p));
  } else if (init.node.op == "Bias") {
    TRTN_TRY(read_scale_or_bias(init, false, &p));
  } else {
    return init.error("is not BatchNorm, Scale or Bias");
  }
  *out = std::move(p);
  return Status::ok();
}

}  // namespace trtn
