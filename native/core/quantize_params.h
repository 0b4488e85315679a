// What a Quantize node means on every backend (docs/int8.md): float32 to int8 with the output
// tensor's scale, q = saturate(x / s_y) with a float32 division.
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked Quantize node.
struct QuantizeParams {
  int64_t volume = 0;  // elements per image
  float scale = 0;     // s_y
};

/// Checks one float32 input and one int8 output (scale > 0) of the same element count.
Status read_quantize_params(const OpInit& init, QuantizeParams* out);

}  // namespace trtn
