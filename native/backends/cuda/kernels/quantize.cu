// Quantize on the GPU (docs/int8.md, core/quantize_params.h): q = saturate(x / s_y) with an IEEE
// float32 division (div.rn.f32; x * (1 / s) would round differently), round half to even, clamp to
// [-127, 127], NaN to 0. Over views it is launch_quantize (reformat.cu: any pair of layouts, e.g. a
// network input's NCHW planes straight into padded NHWC int8); otherwise a flat map. Float32 (or
// float16) in, int8 out.
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/map.cuh"
#include "core/quantize_params.h"

namespace trtn::cuda {
namespace {

class QuantizeOp final : public CudaOp {
 public:
  QuantizeOp() = default;
  /// Reads and checks the node (make<QuantizeOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    View4 x = args.in[0], y = args.out[0];
    if (views_) return launch_quantize(x, y, scale_, args.stream);
    // Only the element count is shared (core/quantize_params.h): both as flat [volume].
    TensorDesc flat;
    flat.dims = {volume_of(in_dims_)};
    x = dense_like(x, flat);
    y = dense_like(y, flat);
    if (y.elem != Elem::kI8) return no_kernel(name_, x.elem, y.elem);
    const QuantizeFn f = quantize_fn(scale_);
    if (x.elem == Elem::kF32) return launch_map1<float, int8_t>(x, y, f, args.stream);
    if (x.elem == Elem::kF16) return launch_map1<__half, int8_t>(x, y, f, args.stream);
    return no_kernel(name_, x.elem, y.elem);
  }

 private:
  std::string name_;
  float scale_ = 0;
  bool views_ = false;
  std::vector<int64_t> in_dims_, out_dims_;
};

Status QuantizeOp::init(const CudaOpInit& init) {
  QuantizeParams p;
  Status st = read_quantize_params(init.node, &p);
  if (!st.is_ok()) return st;
  // Views only when both tensors have one shape (the planner gives a Quantize its input's dims).
  const bool views =
      op_takes_views(init.node.graph, init.node.node) && init.node.input(0).dims == init.node.output(0).dims;
  if (!(st = check_places(init, views)).is_ok()) return st;
  name_ = init.node.node.name;
  scale_ = p.scale;
  views_ = views;
  in_dims_ = init.node.input(0).dims;
  out_dims_ = init.node.output(0).dims;
  return Status::ok();
}

}  // namespace

Status make_quantize(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<QuantizeOp>(init, out); }

}  // namespace trtn::cuda
