// Flatten and Reshape on the GPU (core/reshape_params.h): the same elements in the same order, so a
// flat copy of whole kLinear tensors (16-byte packs), converting float32 <-> float16 where the
// engine stores the two sides differently; INT8 (docs/int8.md): int8 values pass unchanged, or are
// dequantized as float(q) * s_x for a float reader. When the engine lets the output alias the input
// (same address and element type) there is nothing to move.
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/map.cuh"
#include "core/reshape_params.h"

namespace trtn::cuda {
namespace {

class ReshapeOp final : public CudaOp {
 public:
  ReshapeOp() = default;
  /// Reads and checks the node (make<ReshapeOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    TensorDesc flat;
    flat.dims = {p_.volume};
    const View4 x = dense_like(args.in[0], flat);
    const View4 y = dense_like(args.out[0], flat);
    if (x.elem == y.elem && p_.mode != ReshapeMode::kDequantize) {
      if (x.data == y.data) return Status::ok();
      const size_t bytes = static_cast<size_t>(x.n) * static_cast<size_t>(p_.volume) * elem_bytes(x.elem);
      return TRTN_CUDA_STATUS(cudaMemcpyAsync(y.data, x.data, bytes, cudaMemcpyDeviceToDevice, args.stream));
    }
    switch (p_.mode) {
      case ReshapeMode::kCopyFloat:
        return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
          return launch_map1<decltype(tin), decltype(tout)>(x, y, CopyFn{}, args.stream);
        });
      case ReshapeMode::kCopyInt8:
        if (x.elem != Elem::kI8 || y.elem != Elem::kI8) break;
        return launch_map1<int8_t, int8_t>(x, y, CopyFn{}, args.stream);
      case ReshapeMode::kDequantize:
        if (x.elem != Elem::kI8) break;
        if (y.elem == Elem::kF32) return launch_map1<int8_t, float>(x, y, ScaleFn{{}, p_.scale}, args.stream);
        if (y.elem == Elem::kF16) return launch_map1<int8_t, __half>(x, y, ScaleFn{{}, p_.scale}, args.stream);
        break;
    }
    return no_kernel(name_, x.elem, y.elem);
  }

 private:
  std::string name_;
  ReshapeParams p_;
};

Status ReshapeOp::init(const CudaOpInit& init) {
  ReshapeParams p;
  Status st = read_reshape_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_reshape(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ReshapeOp>(init, out); }

}  // namespace trtn::cuda
