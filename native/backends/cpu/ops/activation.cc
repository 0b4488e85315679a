// Caffe's neuron layers: ReLU (and its INT8 form, docs/int8.md), ELU, Sigmoid, TanH, AbsVal,
// Power, BNLL, Exp, Log, Threshold, Clip and Swish. Every output value depends only on the input
// value at the same place, so each op is one loop over batch * volume values; every function is a
// small functor so that the loop inlines it (no call per element).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
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

/// A float for messages, with the digits needed to tell it apart.
std::string fmt(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

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

/// Reads a float attribute: Caffe keeps these parameters as float32, so rounding once here gives
/// the numbers Caffe computes with.
Status attr_float(const OpInit& init, const char* key, float* out) {
  double v = 0;
  Status st = init.attr_double(key, &v);
  if (!st.is_ok()) return st;
  if (!std::isfinite(v)) return init.error(std::string(key) + " must be a finite number");
  *out = static_cast<float>(v);
  return Status::ok();
}

template <typename F>
Status emit(F f, const OpInit& init, std::unique_ptr<CpuOp>* out) {
  *out = std::make_unique<UnaryOp<F>>(f, init.input(0).volume);
  return Status::ok();
}

Status make_relu_int8(const OpInit& init, float slope, std::unique_ptr<CpuOp>* out) {
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  if (x.dtype != DType::kInt8) return init.error("an INT8 ReLU reads an int8 tensor");
  if (y.dtype == DType::kInt8 && y.scale != x.scale) {
    return init.error("an INT8 ReLU's int8 output must keep its input's scale (" + fmt(x.scale) +
                      "), got " + fmt(y.scale));
  }
  *out = std::make_unique<ReluInt8Op>(slope, x.scale, y.dtype == DType::kFloat32, x.volume);
  return Status::ok();
}

Status make_power(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  float power = 0, scale = 0, shift = 0;
  Status st;
  if (!(st = attr_float(init, "power", &power)).is_ok()) return st;
  if (!(st = attr_float(init, "scale", &scale)).is_ok()) return st;
  if (!(st = attr_float(init, "shift", &shift)).is_ok()) return st;
  // Caffe ignores the input when power or scale is 0 (even for infinite or NaN inputs).
  if (power == 0.0f || scale == 0.0f) {
    return emit(Constant{power == 0.0f ? 1.0f : std::pow(shift, power)}, init, out);
  }
  return emit(Power{power, scale, shift}, init, out);
}

/// ln(base) for Exp and Log, where base -1 means e.
double log_of_base(float base) { return base == -1.0f ? 1.0 : std::log(static_cast<double>(base)); }

Status make_exp(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  float base = 0, scale = 0, shift = 0;
  Status st;
  if (!(st = attr_float(init, "base", &base)).is_ok()) return st;
  if (!(st = attr_float(init, "scale", &scale)).is_ok()) return st;
  if (!(st = attr_float(init, "shift", &shift)).is_ok()) return st;
  if (!(base > 0.0f || base == -1.0f)) return init.error("base must be > 0, or -1 for e; got " + fmt(base));
  // The constants in double, rounded once, so that base e with scale 1 is exactly exp(x + shift).
  const double lb = log_of_base(base);
  return emit(Exp{static_cast<float>(scale * lb), static_cast<float>(shift * lb)}, init, out);
}

Status make_log(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  float base = 0, scale = 0, shift = 0;
  Status st;
  if (!(st = attr_float(init, "base", &base)).is_ok()) return st;
  if (!(st = attr_float(init, "scale", &scale)).is_ok()) return st;
  if (!(st = attr_float(init, "shift", &shift)).is_ok()) return st;
  if (!((base > 0.0f && base != 1.0f) || base == -1.0f)) {
    return init.error("base must be > 0 and not 1, or -1 for e; got " + fmt(base));
  }
  return emit(Log{scale, shift, static_cast<float>(1.0 / log_of_base(base))}, init, out);
}

}  // namespace

Status make_activation(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_io(1, 1);
  if (!st.is_ok()) return st;
  const std::string& op = init.node.op;
  if (init.node.activation.relu) return init.error("takes no fused activation");
  if (init.input(0).dims != init.output(0).dims) return init.error("the output must have the input's shape");
  if (init.node.precision == Precision::kINT8) {
    if (op != "ReLU") return init.error("has no INT8 form");
    float slope = 0;
    if (!(st = attr_float(init, "negativeSlope", &slope)).is_ok()) return st;
    return make_relu_int8(init, slope, out);
  }
  if (init.input(0).dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("a " + std::string(precision_name(init.node.precision)) + " node reads and writes float32");
  }
  float a = 0, b = 0;
  if (op == "ReLU") {
    if (!(st = attr_float(init, "negativeSlope", &a)).is_ok()) return st;
    return emit(Relu{a}, init, out);
  }
  if (op == "ELU") {
    if (!(st = attr_float(init, "alpha", &a)).is_ok()) return st;
    return emit(Elu{a}, init, out);
  }
  if (op == "Sigmoid") return emit(Sigmoid{}, init, out);
  if (op == "TanH") return emit(TanH{}, init, out);
  if (op == "AbsVal") return emit(AbsVal{}, init, out);
  if (op == "Power") return make_power(init, out);
  if (op == "BNLL") return emit(Bnll{}, init, out);
  if (op == "Exp") return make_exp(init, out);
  if (op == "Log") return make_log(init, out);
  if (op == "Threshold") {
    if (!(st = attr_float(init, "threshold", &a)).is_ok()) return st;
    return emit(Threshold{a}, init, out);
  }
  if (op == "Clip") {
    if (!(st = attr_float(init, "min", &a)).is_ok()) return st;
    if (!(st = attr_float(init, "max", &b)).is_ok()) return st;
    if (a > b) return init.error("min " + fmt(a) + " is above max " + fmt(b));
    return emit(Clip{a, b}, init, out);
  }
  if (op == "Swish") {
    if (!(st = attr_float(init, "beta", &a)).is_ok()) return st;
    return emit(Swish{a}, init, out);
  }
  return init.error("is not an activation");
}

}  // namespace trtn::cpu
