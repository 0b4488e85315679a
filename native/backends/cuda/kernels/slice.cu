// Slice on the GPU (core/slice_params.h) over whole kLinear tensors: output k takes the contiguous
// run [start_k, start_k + size_k) * inner of every input row, one 2-D copy per output (16-byte
// packs when aligned).
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/copy2d.cuh"
#include "core/slice_params.h"

namespace trtn::cuda {
namespace {

class SliceOp final : public CudaOp {
 public:
  SliceOp() = default;
  /// Reads and checks the node (make<SliceOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    for (size_t k = 0; k < p_.sizes.size(); ++k) {
      Copy2d c;
      c.rows = static_cast<int64_t>(args.batch) * p_.outer;
      c.len = p_.sizes[k] * p_.inner;
      c.src_stride = p_.dim * p_.inner;
      c.src_off = p_.starts[k] * p_.inner;
      c.dst_stride = c.len;
      const void* x = args.in[0].data;
      void* y = args.out[k].data;
      Status st = dispatch_float2(name_, args.in[0].elem, args.out[k].elem, [&](auto tin, auto tout) -> Status {
        return launch_copy2d<decltype(tin), decltype(tout)>(x, y, c, CopyFn{}, args.stream);
      });
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  }

 private:
  std::string name_;
  SliceParams p_;
};

Status SliceOp::init(const CudaOpInit& init) {
  SliceParams p;
  Status st = read_slice_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = std::move(p);
  return Status::ok();
}

}  // namespace

Status make_slice(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<SliceOp>(init, out); }

}  // namespace trtn::cuda
