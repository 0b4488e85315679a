// Caffe's neuron layers: ReLU (and its INT8 form, docs/int8.md), ELU, Sigmoid, TanH, AbsVal,
// Power, BNLL, Exp, Log, Threshold, Clip and Swish. Every output value depends only on the input
// value at the same place, so each op is one loop over batch * volume values; every function is a
// small functor so that the loop inlines it (no call per element).
#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
#include "core/activation_params.h"
#include "core/numeric.h"

namespace trtn::cpu {
namespace {

// Values per chunk of the thread pool: large enough that scheduling costs nothing.
constexpr int64_t kGrain = 1 << 14;

struct Relu {
  float slope;
  // The form every backend's fused ReLU uses (docs/int8.md), so fused and unfused ReLU agree.
  float operator()(float x) const { return x > 0 ? x : x * slope; }
};

struct Elu {
  float alpha;
  // expm1 keeps the relative accuracy of small negative x, which exp(x) - 1 loses.
  float operator()(float x) const { return x > 0 ? x : alpha * std::expm1(x); }
};

/// The logistic function with e^-|x| only, which never overflows: accurate in relative terms
/// down to the smallest floats (Caffe's 0.5 tanh(x / 2) + 0.5 cancels for negative x).
inline float sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

struct Sigmoid {
  float operator()(float x) const { return sigmoid(x); }
};

struct TanH {
  float operator()(float x) const { return std::tanh(x); }
};

struct AbsVal {
  float operator()(float x) const { return std::fabs(x); }
};

struct Power {
  float power, scale, shift;
  // Caffe scales, shifts and raises in separate float steps, skipping the pow when power is 1.
  float operator()(float x) const {
    const float v = shift + scale * x;
    return power == 1.0f ? v : std::pow(v, power);
  }
};

struct Constant {
  float value;
  float operator()(float) const { return value; }
};

struct Bnll {
  // Caffe's stable split: e^x never overflows, and log1p keeps the small terms exact.
  float operator()(float x) const { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
};

struct Exp {
  float inner, offset;
  // base^(shift + scale x) = e^(scale ln(base) x + shift ln(base)): one exp, so a large shift
  // cannot overflow a separate outer factor (Caffe multiplies by base^shift afterwards).
  float operator()(float x) const { return std::exp(inner * x + offset); }
};

struct Log {
  float scale, shift, base_scale;
  float operator()(float x) const { return base_scale * std::log(shift + scale * x); }
};

struct Threshold {
  float threshold;
  float operator()(float x) const { return x > threshold ? 1.0f : 0.0f; }
};

struct Clip {
  float lo, hi;
  // Caffe's exact expression (a NaN input gives lo, as in Caffe).
  float operator()(float x) const { return std::max(lo, std::min(x, hi)); }
};

struct Swish {
  float beta;
  float operator()(float x) const { return x * sigmoid(beta * x); }
};

Status out_of_memory(const char* op) {
  return Status(Code::kOutOfMemory, std::string("cpu backend: out of memory running ") + op);
}

/// y = f(x) over float32 tensors.
template <typename F>
class UnaryOp final : public CpuOp {
 public:
  UnaryOp(F f, int64_t volume) : f_(f), volume_(volume) {}

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const F f = f_;
    try {
      args.pool.parallel_for(args.batch * volume_, kGrain, [x, y, f](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) y[i] = f(x[i]);
      });
    } catch (const std::bad_alloc&) {
      return out_of_memory("an activation");
    }
    return Status::ok();
  }

 private:
  F f_;
  int64_t volume_;
};

/// INT8 ReLU (docs/int8.md): q = q_x > 0 ? q_x : saturate(float(q_x) * slope); the output keeps
/// the input's scale, or is dequantized as float(q) * s_x when a float node reads it.
class ReluInt8Op final : public CpuOp {
 public:
  ReluInt8Op(float slope, float in_scale, bool float_out, int64_t volume)
      : slope_(slope), in_scale_(in_scale), float_out_(float_out), volume_(volume) {}

  Status run(const OpArgs& args) const override {
    const int8_t* x = static_cast<const int8_t*>(args.in[0]);
    const float slope = slope_, s = in_scale_;
    try {
      if (float_out_) {
        float* y = static_cast<float*>(args.out[0]);
        args.pool.parallel_for(args.batch * volume_, kGrain, [=](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) y[i] = static_cast<float>(relu(x[i], slope)) * s;
        });
      } else {
        int8_t* y = static_cast<int8_t*>(args.out[0]);
        args.pool.parallel_for(args.batch * volume_, kGrain, [=](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) y[i] = relu(x[i], slope);
        });
      }
    } catch (const std::bad_alloc&) {
      return out_of_memory("ReLU");
    }
    return Status::ok();
  }

 private:
  static int8_t relu(int8_t q, float slope) {
    return q > 0 ? q : numeric::saturate_int8(static_cast<float>(q) * slope);
  }

  float slope_;
  float in_scale_;
  bool float_out_;
  int64_t volume_;
};

template <typename F>
Status emit(F f, const OpInit& init, std::unique_ptr<CpuOp>* out) {
  *out = std::make_unique<UnaryOp<F>>(f, init.input(0).volume);
  return Status::ok();
}

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  ActivationParams p;
  TRTN_TRY(read_activation_params(init, &p));
  if (p.int8) {
    *out = std::make_unique<ReluInt8Op>(p.slope, p.in_scale, p.float_out, init.input(0).volume);
    return Status::ok();
  }
  switch (p.kind) {
    case ActivationKind::kRelu: return emit(Relu{p.slope}, init, out);
    case ActivationKind::kElu: return emit(Elu{p.alpha}, init, out);
    case ActivationKind::kSigmoid: return emit(Sigmoid{}, init, out);
    case ActivationKind::kTanh: return emit(TanH{}, init, out);
    case ActivationKind::kAbs: return emit(AbsVal{}, init, out);
    case ActivationKind::kPower: return emit(Power{p.power, p.scale, p.shift}, init, out);
    case ActivationKind::kConstant: return emit(Constant{p.value}, init, out);
    case ActivationKind::kBnll: return emit(Bnll{}, init, out);
    case ActivationKind::kExp: return emit(Exp{p.inner, p.offset}, init, out);
    case ActivationKind::kLog: return emit(Log{p.scale, p.shift, p.base_scale}, init, out);
    case ActivationKind::kThreshold: return emit(Threshold{p.threshold}, init, out);
    case ActivationKind::kClip: return emit(Clip{p.lo, p.hi}, init, out);
    case ActivationKind::kSwish: return emit(Swish{p.beta}, init, out);
  }
  return init.error("is not an activation");
}

}  // namespace

Status make_activation(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return guard_host_memory(init, [&] { return create(init, out); });
}

}  // namespace trtn::cpu
