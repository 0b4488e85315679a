// Caffe's neuron layers on the GPU: ReLU (and INT8 ReLU, docs/int8.md), ELU, Sigmoid, TanH, AbsVal,
// Power, BNLL, Exp, Log, Threshold, Clip and Swish, as map functors over View4s (any layout,
// float32 or float16 storage, float32 arithmetic). Each formula is the cpu backend's term by term
// (core/activation_params.h): products and sums that the cpu rounds separately are kept separate
// (__fmul_rn / __fadd_rn, which the compiler never contracts into an fma), and the transcendental
// functions are CUDA's accurate ones (expf, expm1f, log1pf, logf, tanhf, powf; no fast-math
// intrinsics), so results differ from the cpu only by those functions' last-bit errors.
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/map.cuh"
#include "core/activation_params.h"

namespace trtn::cuda {
namespace {

__device__ __forceinline__ float sigmoid(float x) {
  // e^-|x| only: never overflows, accurate for the smallest results (core/activation_params.h).
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

struct ReluFn : MapFn {
  float slope;
  __device__ __forceinline__ float start(float x, int, int) const { return x > 0.0f ? x : x * slope; }
};

struct EluFn : MapFn {
  float alpha;
  __device__ __forceinline__ float start(float x, int, int) const { return x > 0.0f ? x : alpha * expm1f(x); }
};

struct SigmoidFn : MapFn {
  __device__ __forceinline__ float start(float x, int, int) const { return sigmoid(x); }
};

struct TanhFn : MapFn {
  __device__ __forceinline__ float start(float x, int, int) const { return tanhf(x); }
};

struct AbsFn : MapFn {
  __device__ __forceinline__ float start(float x, int, int) const { return fabsf(x); }
};

struct PowerFn : MapFn {
  float power, scale, shift;
  __device__ __forceinline__ float start(float x, int, int) const {
    const float v = __fadd_rn(shift, __fmul_rn(scale, x));
    return power == 1.0f ? v : powf(v, power);
  }
};

struct ConstantFn : MapFn {
  float value;
  __device__ __forceinline__ float start(float, int, int) const { return value; }
};

struct BnllFn : MapFn {
  __device__ __forceinline__ float start(float x, int, int) const {
    return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
  }
};

struct ExpFn : MapFn {
  float inner, offset;
  __device__ __forceinline__ float start(float x, int, int) const {
    return expf(__fadd_rn(__fmul_rn(inner, x), offset));
  }
};

struct LogFn : MapFn {
  float scale, shift, base_scale;
  __device__ __forceinline__ float start(float x, int, int) const {
    return base_scale * logf(__fadd_rn(shift, __fmul_rn(scale, x)));
  }
};

struct ThresholdFn : MapFn {
  float threshold;
  __device__ __forceinline__ float start(float x, int, int) const { return x > threshold ? 1.0f : 0.0f; }
};

struct ClipFn : MapFn {
  float lo, hi;
  // std::max(lo, std::min(x, hi)) exactly, NaN included (it gives lo).
  __device__ __forceinline__ float start(float x, int, int) const {
    const float m = hi < x ? hi : x;
    return lo < m ? m : lo;
  }
};

struct SwishFn : MapFn {
  float beta;
  __device__ __forceinline__ float start(float x, int, int) const { return x * sigmoid(beta * x); }
};

/// INT8 ReLU (docs/int8.md): q = q_x > 0 ? q_x : saturate(float(q_x) * slope). An int8 output
/// stores q (the store's saturation leaves it unchanged); a float output stores float(q) * s_x.
struct ReluInt8Fn : MapFn {
  float slope;
  float scale;  // s_x for a float output, 1 for an int8 output (q * 1 is exact)
  __device__ __forceinline__ float start(float x, int, int) const {
    const float q = x > 0.0f ? x : static_cast<float>(saturate_int8(x * slope));
    return q * scale;
  }
};

class ActivationOp final : public CudaOp {
 public:
  ActivationOp() = default;
  /// Reads and checks the node (make<ActivationOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    TensorDesc d;
    d.dims = dims_;
    const View4 x = views_ ? args.in[0] : dense_like(args.in[0], d);
    const View4 y = views_ ? args.out[0] : dense_like(args.out[0], d);
    if (p_.int8) {
      if (x.elem != Elem::kI8) return no_kernel("INT8 ReLU", x.elem, y.elem);
      switch (y.elem) {
        case Elem::kI8: return launch_map1<int8_t, int8_t>(x, y, ReluInt8Fn{{}, p_.slope, 1.0f}, args.stream);
        case Elem::kF32: return launch_map1<int8_t, float>(x, y, ReluInt8Fn{{}, p_.slope, p_.in_scale}, args.stream);
        case Elem::kF16: return launch_map1<int8_t, __half>(x, y, ReluInt8Fn{{}, p_.slope, p_.in_scale}, args.stream);
      }
      return no_kernel("INT8 ReLU", x.elem, y.elem);
    }
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      const cudaStream_t s = args.stream;
      switch (p_.kind) {
        case ActivationKind::kRelu: return launch_map1<Tin, Tout>(x, y, ReluFn{{}, p_.slope}, s);
        case ActivationKind::kElu: return launch_map1<Tin, Tout>(x, y, EluFn{{}, p_.alpha}, s);
        case ActivationKind::kSigmoid: return launch_map1<Tin, Tout>(x, y, SigmoidFn{}, s);
        case ActivationKind::kTanh: return launch_map1<Tin, Tout>(x, y, TanhFn{}, s);
        case ActivationKind::kAbs: return launch_map1<Tin, Tout>(x, y, AbsFn{}, s);
        case ActivationKind::kPower: return launch_map1<Tin, Tout>(x, y, PowerFn{{}, p_.power, p_.scale, p_.shift}, s);
        case ActivationKind::kConstant: return launch_map1<Tin, Tout>(x, y, ConstantFn{{}, p_.value}, s);
        case ActivationKind::kBnll: return launch_map1<Tin, Tout>(x, y, BnllFn{}, s);
        case ActivationKind::kExp: return launch_map1<Tin, Tout>(x, y, ExpFn{{}, p_.inner, p_.offset}, s);
        case ActivationKind::kLog: return launch_map1<Tin, Tout>(x, y, LogFn{{}, p_.scale, p_.shift, p_.base_scale}, s);
        case ActivationKind::kThreshold: return launch_map1<Tin, Tout>(x, y, ThresholdFn{{}, p_.threshold}, s);
        case ActivationKind::kClip: return launch_map1<Tin, Tout>(x, y, ClipFn{{}, p_.lo, p_.hi}, s);
        case ActivationKind::kSwish: return launch_map1<Tin, Tout>(x, y, SwishFn{{}, p_.beta}, s);
      }
      return run_error(name_, "activation", "unknown activation");
    });
  }

 private:
  std::string name_;
  ActivationParams p_;
  bool views_ = false;
  std::vector<int64_t> dims_;
};

Status ActivationOp::init(const CudaOpInit& init) {
  ActivationParams p;
  Status st = read_activation_params(init.node, &p);
  if (!st.is_ok()) return st;
  const bool views = op_takes_views(init.node.graph, init.node.node);
  if (!(st = check_places(init, views)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  views_ = views;
  dims_ = init.node.input(0).dims;
  return Status::ok();
}

}  // namespace

Status make_activation(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ActivationOp>(init, out); }

}  // namespace trtn::cuda
