#include "core/resize_params.h"

#include <string>
#include <vector>

namespace trtn {
namespace {

/// Checks one [C, H, W] input and a [C, H_out, W_out] output; fills the plane sizes.
Status read_planes(const OpInit& init, ResizeParams* p) {
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  if (x.dims.size() != 3 || y.dims.size() != 3 || y.dims[0] != x.dims[0]) {
    return init.error("needs an input [C, H, W] and an output [C, H_out, W_out]");
  }
  p->channels = x.dims[0];
  p->h = x.dims[1];
  p->w = x.dims[2];
  p->ho = y.dims[1];
  p->wo = y.dims[2];
  return Status::ok();
}

}  // namespace

Status read_upsample_params(const OpInit& init, ResizeParams* out) {
  std::string mode;
  TRTN_TRY(init.attr_string("mode", &mode));
  if (mode != "nearest" && mode != "unpool") return init.error("unknown mode '" + mode + "' (nearest or unpool)");
  ResizeParams p;
  p.unpool = mode == "unpool";
  TRTN_TRY(init.expect_float(p.unpool ? 2 : 1, 1));
  TRTN_TRY(read_planes(init, &p));
  if (p.unpool && init.input(1).dims != init.input(0).dims) return init.error("the mask must have the values' shape");
  if (p.unpool && (p.ho < p.h || p.wo < p.w))
    return init.error("max unpooling needs an output at least the input's size");
  *out = p;
  return Status::ok();
}

Status read_interp_params(const OpInit& init, ResizeParams* out) {
  const size_t inputs = init.node.inputs.size();
  if (inputs != 1 && inputs != 2) return init.error("expects 1 or 2 inputs");
  TRTN_TRY(init.expect_float(inputs, 1));
  int64_t pad_beg = 0, pad_end = 0;
  TRTN_TRY(init.attr_int("padBeg", &pad_beg));
  TRTN_TRY(init.attr_int("padEnd", &pad_end));
  ResizeParams p;
  TRTN_TRY(read_planes(init, &p));
  if (pad_beg > 0 || pad_end > 0) return init.error("pads must be <= 0 (a crop)");
  p.crop = -pad_beg;
  p.he = p.h + pad_beg + pad_end;
  p.we = p.w + pad_beg + pad_end;
  if (p.he < 1 || p.we < 1) return init.error("the pads leave nothing of the input");
  *out = p;
  return Status::ok();
}

}  // namespace trtn
