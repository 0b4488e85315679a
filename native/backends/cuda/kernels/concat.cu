// Concat on the GPU (core/concat_params.h). The engine elides most Concats along channels by
// letting each producer write its slice of the output; what is left runs here:
//   - axis 1 with views: one map per input into its channel range of the output (any layouts;
//     the last input's launch also zeroes the output's padding channels); an input that already
//     lives in its slice (the engine placed it there) is not copied;
//   - any other axis, or ranks above 3 (whole kLinear tensors): one 2-D copy per input, each output
//     row taking the input's row at its offset.
// INT8 (docs/int8.md): int8 values copy unchanged when the scales agree, else are requantized
// saturate(float(q) * R_i); a float32 output dequantizes float(q) * s_i.
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/copy2d.cuh"
#include "core/concat_params.h"

namespace trtn::cuda {
namespace {

class ConcatOp final : public CudaOp {
 public:
  ConcatOp() = default;
  /// Reads and checks the node (make<ConcatOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    for (size_t i = 0; i < p_.parts.size(); ++i) {
      Status st = views_ ? run_view_part(args, i) : run_dense_part(args, i);
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  }

 private:
  /// Input i into channels [first, first + along) of the output view.
  Status run_view_part(const RunArgs& args, size_t i) const {
    const ConcatPart& part = p_.parts[i];
    const View4& x = args.in[i];
    const View4& y = args.out[0];
    View4 sub = y;
    sub.data = static_cast<char*>(y.data) + part.first * y.sc * elem_bytes(y.elem);
    sub.c = static_cast<int32_t>(part.along);
    sub.c_write = sub.c;
    if (i + 1 == p_.parts.size()) sub.c_write += y.c_write - y.c;
    const bool in_place = x.data == sub.data && x.elem == sub.elem && x.layout == sub.layout && x.sn == sub.sn &&
                          x.sc == sub.sc && x.sh == sub.sh && x.sw == sub.sw;
    if (in_place && part.mode != ConcatMode::kRequantize && part.mode != ConcatMode::kDequantize) {
      return Status::ok();
    }
    return copy_part(part, x, sub, args.stream);
  }

  /// Input i into every output row at its offset (whole kLinear tensors).
  Status run_dense_part(const RunArgs& args, size_t i) const {
    const ConcatPart& part = p_.parts[i];
    Copy2d c;
    c.rows = static_cast<int64_t>(args.batch) * p_.rows;
    c.len = part.row;
    c.src_stride = part.row;
    c.dst_stride = p_.out_row;
    c.dst_off = part.offset;
    const void* x = args.in[i].data;
    void* y = args.out[0].data;
    const Elem xe = args.in[i].elem, ye = args.out[0].elem;
    switch (part.mode) {
      case ConcatMode::kCopyFloat:
        return dispatch_float2(name_, xe, ye, [&](auto tin, auto tout) -> Status {
          return launch_copy2d<decltype(tin), decltype(tout)>(x, y, c, CopyFn{}, args.stream);
        });
      case ConcatMode::kCopyInt8:
        if (xe != Elem::kI8 || ye != Elem::kI8) break;
        return launch_copy2d<int8_t, int8_t>(x, y, c, CopyFn{}, args.stream);
      case ConcatMode::kRequantize:
        if (xe != Elem::kI8 || ye != Elem::kI8) break;
        return launch_copy2d<int8_t, int8_t>(x, y, c, ScaleFn{{}, part.factor}, args.stream);
      case ConcatMode::kDequantize:
        if (xe != Elem::kI8) break;
        if (ye == Elem::kF32) return launch_copy2d<int8_t, float>(x, y, c, ScaleFn{{}, part.factor}, args.stream);
        if (ye == Elem::kF16) return launch_copy2d<int8_t, __half>(x, y, c, ScaleFn{{}, part.factor}, args.stream);
        break;
    }
    return no_kernel(name_, xe, ye);
  }

  Status copy_part(const ConcatPart& part, const View4& x, const View4& y, cudaStream_t stream) const {
    switch (part.mode) {
      case ConcatMode::kCopyFloat:
        return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
          return launch_map1<decltype(tin), decltype(tout)>(x, y, CopyFn{}, stream);
        });
      case ConcatMode::kCopyInt8:
        if (x.elem != Elem::kI8 || y.elem != Elem::kI8) break;
        return launch_map1<int8_t, int8_t>(x, y, CopyFn{}, stream);
      case ConcatMode::kRequantize:
        if (x.elem != Elem::kI8 || y.elem != Elem::kI8) break;
        return launch_map1<int8_t, int8_t>(x, y, ScaleFn{{}, part.factor}, stream);
      case ConcatMode::kDequantize:
        if (x.elem != Elem::kI8) break;
        if (y.elem == Elem::kF32) return launch_map1<int8_t, float>(x, y, ScaleFn{{}, part.factor}, stream);
        if (y.elem == Elem::kF16) return launch_map1<int8_t, __half>(x, y, ScaleFn{{}, part.factor}, stream);
        break;
    }
    return no_kernel(name_, x.elem, y.elem);
  }

  std::string name_;
  ConcatParams p_;
  bool views_ = false;
};

Status ConcatOp::init(const CudaOpInit& init) {
  ConcatParams p;
  Status st = read_concat_params(init.node, &p);
  if (!st.is_ok()) return st;
  const bool views = p.axis == 1 && op_takes_views(init.node.graph, init.node.node);
  if (!(st = check_places(init, views)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = std::move(p);
  views_ = views;
  return Status::ok();
}

}  // namespace

Status make_concat(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ConcatOp>(init, out); }

}  // namespace trtn::cuda
