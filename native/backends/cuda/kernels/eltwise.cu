// Eltwise on the GPU (core/eltwise_params.h): PROD, SUM with coefficients, MAX over 2..16 inputs
// of one shape, with the fused ReLU; INT8 SUM as docs/int8.md: acc = fma(float(q_i), C_i, acc) in
// input order (fma.rn), ReLU, then saturate (int8 output) or acc itself (float output). A map over
// View4s (one pass reads every input once and writes the output once).
//
// Float order is the cpu's: the first two inputs start the result (x0 * x1, c0 x0 + c1 x1,
// x0 > x1 ? x0 : x1), the others fold in one by one; products and sums are rounded separately
// (__fmul_rn / __fadd_rn: never contracted into an fma).
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/map.cuh"
#include "core/eltwise_params.h"

namespace trtn::cuda {
namespace {

/// Most inputs one kernel reads (their views travel as kernel parameters).
constexpr int kMaxInputs = 16;

__device__ __forceinline__ float relu(float v, float slope) { return v > 0.0f ? v : v * slope; }

struct EltwiseFn {
  int op;  // EltwiseOp
  bool relu_on;
  float slope;
  float coeff[kMaxInputs];

  __device__ __forceinline__ float start(float x, int, int) const { return x; }
  __device__ __forceinline__ float step(float acc, float x, int i) const {
    if (op == static_cast<int>(EltwiseOp::kProd)) return __fmul_rn(acc, x);
    if (op == static_cast<int>(EltwiseOp::kSum)) {
      return i == 1 ? __fadd_rn(__fmul_rn(coeff[0], acc), __fmul_rn(coeff[1], x))
                    : __fadd_rn(acc, __fmul_rn(coeff[i], x));
    }
    // MAX: y = x0 > x1 ? x0 : x1, then y = x > y ? x : y (the cpu's NaN behaviour included).
    return i == 1 ? (acc > x ? acc : x) : (x > acc ? x : acc);
  }
  __device__ __forceinline__ float finish(float acc) const { return relu_on ? relu(acc, slope) : acc; }
};

/// INT8 SUM: acc = fma(float(q_0), C_0, 0), then acc = fma(float(q_i), C_i, acc).
struct Int8SumFn {
  bool relu_on;
  float slope;
  float mul[kMaxInputs];

  __device__ __forceinline__ float start(float x, int, int) const { return __fmaf_rn(x, mul[0], 0.0f); }
  __device__ __forceinline__ float step(float acc, float x, int i) const { return __fmaf_rn(x, mul[i], acc); }
  __device__ __forceinline__ float finish(float acc) const { return relu_on ? relu(acc, slope) : acc; }
};

class EltwiseOp final : public CudaOp {
 public:
  EltwiseOp() = default;
  /// Reads and checks the node (make<EltwiseOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const int n = static_cast<int>(args.in.size());
    TensorDesc d;
    d.dims = dims_;
    View4 x[kMaxInputs];
    for (int i = 0; i < n; ++i) {
      x[i] = views_ ? args.in[i] : dense_like(args.in[i], d);
      if (x[i].elem != args.in[0].elem) return run_error(name_, "Eltwise", "inputs of different element types");
    }
    const View4 y = views_ ? args.out[0] : dense_like(args.out[0], d);
    if (p_.int8) {
      Int8SumFn f{act_.relu, act_.negative_slope, {}};
      for (int i = 0; i < n; ++i) f.mul[i] = p_.multipliers[i];
      if (x[0].elem != Elem::kI8) return no_kernel(name_, x[0].elem, y.elem);
      switch (y.elem) {
        case Elem::kI8: return launch<int8_t, int8_t>(x, n, y, f, args.stream);
        case Elem::kF32: return launch<int8_t, float>(x, n, y, f, args.stream);
        case Elem::kF16: return launch<int8_t, __half>(x, n, y, f, args.stream);
      }
      return no_kernel(name_, x[0].elem, y.elem);
    }
    EltwiseFn f{static_cast<int>(p_.op), act_.relu, act_.negative_slope, {}};
    for (int i = 0; i < n; ++i) f.coeff[i] = p_.coeff[i];
    return dispatch_float2(name_, x[0].elem, y.elem, [&](auto tin, auto tout) -> Status {
      return launch<decltype(tin), decltype(tout)>(x, n, y, f, args.stream);
    });
  }

 private:
  template <typename Tin, typename Tout, typename F>
  static Status launch(const View4* x, int n, const View4& y, const F& f, cudaStream_t stream) {
    // Two inputs (nearly every network) travel in a small parameter block.
    if (n <= 2) return launch_map<Tin, Tout, 2, F>(x, n, y, f, stream);
    return launch_map<Tin, Tout, kMaxInputs, F>(x, n, y, f, stream);
  }

  std::string name_;
  EltwiseParams p_;
  Activation act_;
  bool views_ = false;
  std::vector<int64_t> dims_;
};

Status EltwiseOp::init(const CudaOpInit& init) {
  EltwiseParams p;
  Status st = read_eltwise_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (init.node.node.inputs.size() > static_cast<size_t>(kMaxInputs)) {
    return init.node.error("the cuda backend reads at most " + std::to_string(kMaxInputs) +
                           " inputs per Eltwise, got " + std::to_string(init.node.node.inputs.size()));
  }
  const bool views = op_takes_views(init.node.graph, init.node.node);
  if (!(st = check_places(init, views)).is_ok()) return st;
  for (size_t i = 1; i < init.node.node.inputs.size(); ++i) {
    if (init.in_place(i).elem != init.in_place(0).elem) {
      return init.node.error("the cuda backend needs every input in one element type");
    }
  }
  name_ = init.node.node.name;
  p_ = std::move(p);
  act_ = init.node.node.activation;
  views_ = views;
  dims_ = init.node.output(0).dims;
  return Status::ok();
}

}  // namespace

Status make_eltwise(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<EltwiseOp>(init, out); }

}  // namespace trtn::cuda
