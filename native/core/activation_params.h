// What Caffe's neuron layers mean on every backend: ReLU (and its INT8 form, docs/int8.md), ELU,
// Sigmoid, TanH, AbsVal, Power, BNLL, Exp, Log, Threshold, Clip and Swish, read from the node and
// checked. Parameters are float32 as Caffe holds them; Power, Exp and Log constants are prepared
// here (once, in double where that is what the formula needs) so every backend computes with the
// same numbers.
#pragma once

#include "core/op_init.h"

namespace trtn {

/// The formula an activation node computes, per value x:
///   kRelu      x > 0 ? x : x * slope
///   kElu       x > 0 ? x : alpha * expm1(x)
///   kSigmoid   x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
///   kTanh      tanh(x)
///   kAbs       |x|
///   kPower     v = shift + scale * x (two roundings); power == 1 ? v : pow(v, power)
///   kConstant  value (Power with power or scale 0: Caffe ignores the input)
///   kBnll      x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
///   kExp       exp(inner * x + offset) (inner = scale ln(base), offset = shift ln(base))
///   kLog       base_scale * log(shift + scale * x) (base_scale = 1 / ln(base))
///   kThreshold x > threshold ? 1 : 0
///   kClip      max(lo, min(x, hi))
///   kSwish     x * sigmoid(beta * x)
enum class ActivationKind {
  kRelu,
  kElu,
  kSigmoid,
  kTanh,
  kAbs,
  kPower,
  kConstant,
  kBnll,
  kExp,
  kLog,
  kThreshold,
  kClip,
  kSwish
};

/// A checked activation node.
struct ActivationParams {
  ActivationKind kind = ActivationKind::kRelu;
  float slope = 0;                        // kRelu
  float alpha = 0;                        // kElu
  float power = 1, scale = 1, shift = 0;  // kPower; kLog uses scale and shift
  float value = 0;                        // kConstant
  float inner = 1, offset = 0;            // kExp
  float base_scale = 1;                   // kLog
  float threshold = 0;                    // kThreshold
  float lo = 0, hi = 0;                   // kClip
  float beta = 0;                         // kSwish
  /// INT8 ReLU (docs/int8.md): int8 input with scale in_scale; the output is int8 with the same
  /// scale, or float32 (dequantized) when float_out.
  bool int8 = false;
  bool float_out = false;
  float in_scale = 0;
};

/// Reads and checks an activation node (one input, one output of the same shape; float32, or
/// int8 for an INT8 ReLU).
Status read_activation_params(const OpInit& init, ActivationParams* out);

}  // namespace trtn
