#include "core/eltwise_params.h"

#include <algorithm>
#include <string>

namespace trtn {

Status read_eltwise_params(const OpInit& init, EltwiseParams* out) {
  const size_t n = init.node.inputs.size();
  if (n < 2 || init.node.outputs.size() != 1) return init.error("expects 2 or more inputs and 1 output");
  std::string operation;
  std::vector<double> coeff;
  TRTN_TRY(init.attr_string("operation", &operation));
  EltwiseParams p;
  if (operation == "PROD")
    p.op = EltwiseOp::kProd;
  else if (operation == "SUM")
    p.op = EltwiseOp::kSum;
  else if (operation == "MAX")
    p.op = EltwiseOp::kMax;
  else
    return init.error("unknown operation '" + operation + "' (expected PROD, SUM or MAX)");
  if (init.node.attrs.has("coeff")) {
    TRTN_TRY(init.attr_doubles("coeff", &coeff));
  }
  if (coeff.empty()) coeff.assign(n, 1.0);
  if (coeff.size() != n) {
    return init.error("takes one coefficient per input: " + std::to_string(n) + " inputs, " +
                      std::to_string(coeff.size()) + " coefficients");
  }
  // Caffe holds the coefficients as float; PROD refuses them and MAX ignores them.
  if (p.op == EltwiseOp::kProd && std::any_of(coeff.begin(), coeff.end(), [](double c) { return c != 1.0; })) {
    return init.error("PROD takes no coefficients");
  }
  p.coeff.resize(n);
  for (size_t i = 0; i < n; ++i) p.coeff[i] = static_cast<float>(coeff[i]);

  const TensorDesc& y = init.output(0);
  for (size_t i = 0; i < n; ++i) {
    if (init.input(i).dims != y.dims) return init.error("every input must have the output's shape");
  }
  if (init.node.precision == Precision::kINT8) {
    if (p.op != EltwiseOp::kSum) return init.error("only Eltwise SUM has an INT8 form (docs/int8.md)");
    for (size_t i = 0; i < n; ++i) {
      if (init.input(i).dtype != DType::kInt8) {
        return init.error("an INT8 node needs int8 inputs; '" + init.input(i).name + "' is float32");
      }
    }
    p.int8 = true;
    p.float_out = y.dtype == DType::kFloat32;
    // C_i = float32(coeff_i * s_i / s_y) (int8 output) or float32(coeff_i * s_i), in double.
    p.multipliers.resize(n);
    for (size_t i = 0; i < n; ++i) {
      double v = static_cast<double>(p.coeff[i]) * static_cast<double>(init.input(i).scale);
      if (!p.float_out) v /= static_cast<double>(y.scale);
      p.multipliers[i] = static_cast<float>(v);
    }
    *out = std::move(p);
    return Status::ok();
  }
  for (size_t i = 0; i < n; ++i) {
    if (init.input(i).dtype != DType::kFloat32) return init.error("a float node needs float32 inputs");
  }
  if (y.dtype != DType::kFloat32) return init.error("a float node needs a float32 output");
  *out = std::move(p);
  return Status::ok();
}

}  // namespace trtn
