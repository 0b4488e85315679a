// What an Eltwise node means on every backend (Caffe's EltwiseLayer) over two or more inputs of
// one shape: PROD, SUM with per-input float32 coefficients, MAX; a fused ReLU (node.activation)
// applies to the result. INT8 SUM follows docs/int8.md: acc = fma(float(q_i), C_i, acc) in input
// order, then ReLU, then saturate (int8 output) or acc itself (float32 output).
#pragma once

#include <vector>

#include "core/op_init.h"

namespace trtn {

enum class EltwiseOp { kProd, kSum, kMax };

/// A checked Eltwise node.
struct EltwiseParams {
  EltwiseOp op = EltwiseOp::kSum;
  std::vector<float> coeff;        // one per input (1 when absent), float32 as Caffe holds them
  bool int8 = false;               // INT8 SUM: int8 inputs
  bool float_out = false;          // INT8 node writing float32
  std::vector<float> multipliers;  // INT8: C_i = float32(coeff_i s_i / s_y), or float32(coeff_i s_i)
};

/// Reads operation and coeff and checks the tensors (every input of the output's shape; float32,
/// or int8 inputs for an INT8 SUM).
Status read_eltwise_params(const OpInit& init, EltwiseParams* out);

}  // namespace trtn
