// Tile on the GPU (core/tile_params.h) over whole kLinear tensors: output block b (of `inner`
// values) is input block b / tiles, one 2-D copy with a repeat (16-byte packs when aligned).
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/copy2d.cuh"
#include "core/tile_params.h"

namespace trtn::cuda {
namespace {

class TileOp final : public CudaOp {
 public:
  TileOp() = default;
  /// Reads and checks the node (make<TileOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    Copy2d c;
    c.rows = static_cast<int64_t>(args.batch) * p_.outer * p_.tiles;
    c.len = p_.inner;
    c.src_stride = p_.inner;
    c.dst_stride = p_.inner;
    c.rep = p_.tiles;
    const void* x = args.in[0].data;
    void* y = args.out[0].data;
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      return launch_copy2d<decltype(tin), decltype(tout)>(x, y, c, CopyFn{}, args.stream);
    });
  }

 private:
  std::string name_;
  TileParams p_;
};

Status TileOp::init(const CudaOpInit& init) {
  TileParams p;
  Status st = read_tile_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  if (p.tiles >= kMaxLaunchItems) return init.node.error("has more tiles than the cuda kernels' 2^31 index range");
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_tile(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<TileOp>(init, out); }

}  // namespace trtn::cuda
