#include "core/activation_params.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace trtn {
namespace {

/// A float for messages, with the digits needed to tell it apart.
std::string fmt(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

/// Reads a float attribute: Caffe keeps these parameters as float32, so rounding once here gives
/// the numbers Caffe computes with.
Status attr_float(const OpInit& init, const char* key, float* out) {
  double v = 0;
  TRTN_TRY(init.attr_double(key, &v));
  if (!std::isfinite(v)) return init.error(std::string(key) + " must be a finite number");
  *out = static_cast<float>(v);
  return Status::ok();
}

Status read_relu_int8(const OpInit& init, ActivationParams* p) {
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  if (x.dtype != DType::kInt8) return init.error("an INT8 ReLU reads an int8 tensor");
  if (y.dtype == DType::kInt8 && y.scale != x.scale) {
    return init.error("an INT8 ReLU's int8 output must keep its input's scale (" + fmt(x.scale) + "), got " +
                      fmt(y.scale));
  }
  p->int8 = true;
  p->in_scale = x.scale;
  p->float_out = y.dtype == DType::kFloat32;
  return Status::ok();
}

Status read_power(const OpInit& init, ActivationParams* p) {
  float power = 0, scale = 0, shift = 0;
  TRTN_TRY(attr_float(init, "power", &power));
  TRTN_TRY(attr_float(init, "scale", &scale));
  TRTN_TRY(attr_float(init, "shift", &shift));
  // Caffe ignores the input when power or scale is 0 (even for infinite or NaN inputs).
  if (power == 0.0f || scale == 0.0f) {
    p->kind = ActivationKind::kConstant;
    p->value = power == 0.0f ? 1.0f : std::pow(shift, power);
    return Status::ok();
  }
  p->kind = ActivationKind::kPower;
  p->power = power;
  p->scale = scale;
  p->shift = shift;
  return Status::ok();
}

/// ln(base) for Exp and Log, where base -1 means e.
double log_of_base(float base) { return base == -1.0f ? 1.0 : std::log(static_cast<double>(base)); }

Status read_exp(const OpInit& init, ActivationParams* p) {
  float base = 0, scale = 0, shift = 0;
  TRTN_TRY(attr_float(init, "base", &base));
  TRTN_TRY(attr_float(init, "scale", &scale));
  TRTN_TRY(attr_float(init, "shift", &shift));
  if (!(base > 0.0f || base == -1.0f)) return init.error("base must be > 0, or -1 for e; got " + fmt(base));
  // base^(shift + scale x) = e^(scale ln(base) x + shift ln(base)): one exp, so a large shift
  // cannot overflow a separate outer factor (Caffe multiplies by base^shift afterwards). The
  // constants in double, rounded once, so that base e with scale 1 is exactly exp(x + shift).
  const double lb = log_of_base(base);
  p->kind = ActivationKind::kExp;
  p->inner = static_cast<float>(scale * lb);
  p->offset = static_cast<float>(shift * lb);
  return Status::ok();
}

Status read_log(const OpInit& init, ActivationParams* p) {
  float base = 0, scale = 0, shift = 0;
  TRTN_TRY(attr_float(init, "base", &base));
  TRTN_TRY(attr_float(init, "scale", &scale));
  TRTN_TRY(attr_float(init, "shift", &shift));
  if (!((base > 0.0f && base != 1.0f) || base == -1.0f)) {
    return init.error("base must be > 0 and not 1, or -1 for e; got " + fmt(base));
  }
  p->kind = ActivationKind::kLog;
  p->scale = scale;
  p->shift = shift;
  p->base_scale = static_cast<float>(1.0 / log_of_base(base));
  return Status::ok();
}

Status read_float_activation(const OpInit& init, ActivationParams* p) {
  const std::string& op = init.node.op;
  if (op == "ReLU") {
    p->kind = ActivationKind::kRelu;
    return attr_float(init, "negativeSlope", &p->slope);
  }
  if (op == "ELU") {
    p->kind = ActivationKind::kElu;
    return attr_float(init, "alpha", &p->alpha);
  }
  if (op == "Sigmoid") {
    p->kind = ActivationKind::kSigmoid;
    return Status::ok();
  }
  if (op == "TanH") {
    p->kind = ActivationKind::kTanh;
    return Status::ok();
  }
  if (op == "AbsVal") {
    p->kind = ActivationKind::kAbs;
    return Status::ok();
  }
  if (op == "Power") return read_power(init, p);
  if (op == "BNLL") {
    p->kind = ActivationKind::kBnll;
    return Status::ok();
  }
  if (op == "Exp") return read_exp(init, p);
  if (op == "Log") return read_log(init, p);
  if (op == "Threshold") {
    p->kind = ActivationKind::kThreshold;
    return attr_float(init, "threshold", &p->threshold);
  }
  if (op == "Clip") {
    p->kind = ActivationKind::kClip;
    TRTN_TRY(attr_float(init, "min", &p->lo));
    TRTN_TRY(attr_float(init, "max", &p->hi));
    if (p->lo > p->hi) return init.error("min " + fmt(p->lo) + " is above max " + fmt(p->hi));
    return Status::ok();
  }
  if (op == "Swish") {
    p->kind = ActivationKind::kSwish;
    return attr_float(init, "beta", &p->beta);
  }
  return init.error("is not an activation");
}

}  // namespace

Status read_activation_params(const OpInit& init, ActivationParams* out) {
  TRTN_TRY(init.expect_io(1, 1));
  if (init.node.activation.relu) return init.error("takes no fused activation");
  if (init.input(0).dims != init.output(0).dims) return init.error("the output must have the input's shape");
  ActivationParams p;
  if (init.node.precision == Precision::kINT8) {
    if (init.node.op != "ReLU") return init.error("has no INT8 form");
    TRTN_TRY(attr_float(init, "negativeSlope", &p.slope));
    TRTN_TRY(read_relu_int8(init, &p));
    *out = p;
    return Status::ok();
  }
  if (init.input(0).dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("a " + std::string(precision_name(init.node.precision)) + " node reads and writes float32");
  }
  TRTN_TRY(read_float_activation(init, &p));
  *out = p;
  return Status::ok();
}

}  // namespace trtn
