// What Flatten and Reshape nodes mean on every backend: the same elements in the same order under
// new dims, so a copy. INT8 (docs/int8.md): the int8 values pass unchanged (the output keeps the
// input's scale), or are dequantized, y = float(q) * s_x, when a float node reads the output.
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

enum class ReshapeMode { kCopyFloat, kCopyInt8, kDequantize };

/// A checked Flatten or Reshape node.
struct ReshapeParams {
  ReshapeMode mode = ReshapeMode::kCopyFloat;
  int64_t volume = 0;  // elements per image
  float scale = 0;     // the input's scale (kDequantize)
};

/// Checks one input and one output of the same element count, dtypes by precision.
Status read_reshape_params(const OpInit& init, ReshapeParams* out);

}  // namespace trtn
