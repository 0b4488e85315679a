// PReLU on the GPU (Caffe's PReLULayer, core/prelu_params.h): y = x > 0 ? x : x * slope[c], one
// slope per channel (a shared slope repeated), a map over View4s of float32 or float16.
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/map.cuh"
#include "core/prelu_params.h"

namespace trtn::cuda {
namespace {

struct PReluFn : MapFn {
  const float* slopes;
  __device__ __forceinline__ float start(float x, int, int c) const { return x > 0.0f ? x : x * __ldg(slopes + c); }
};

class PReluOp final : public CudaOp {
 public:
  PReluOp() = default;
  /// Reads and checks the node (make<PReluOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    TensorDesc d;
    d.dims = dims_;
    const View4 x = views_ ? args.in[0] : dense_like(args.in[0], d);
    const View4 y = views_ ? args.out[0] : dense_like(args.out[0], d);
    const PReluFn f{{}, slopes_.as<float>()};
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      return launch_map1<decltype(tin), decltype(tout)>(x, y, f, args.stream);
    });
  }

 private:
  std::string name_;
  DeviceBuffer slopes_;
  bool views_ = false;
  std::vector<int64_t> dims_;
};

Status PReluOp::init(const CudaOpInit& init) {
  PReluParams p;
  Status st = read_prelu_params(init.node, &p);
  if (!st.is_ok()) return st;
  const bool views = op_takes_views(init.node.graph, init.node.node);
  if (!(st = check_places(init, views)).is_ok()) return st;
  DeviceBuffer slopes;
  if (!(st = slopes.upload(p.slopes, "the slopes of PReLU '" + init.node.node.name + "'")).is_ok()) return st;
  name_ = init.node.node.name;
  slopes_ = std::move(slopes);
  views_ = views;
  dims_ = init.node.input(0).dims;
  return Status::ok();
}

}  // namespace

Status make_prelu(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PReluOp>(init, out); }

}  // namespace trtn::cuda
