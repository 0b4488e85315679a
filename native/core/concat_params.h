// What a Concat node means on every backend (Caffe's ConcatLayer), float32 or INT8 (docs/int8.md):
// an int8 output takes each input's values unchanged when the scales agree and requantizes them
// otherwise; a float32 output of an INT8 node dequantizes each input with its own scale.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// How one input's values reach the output.
enum class ConcatMode { kCopyFloat, kCopyInt8, kRequantize, kDequantize };

/// One input of a Concat: seen from the axis, each output row (the dims from the axis on) holds
/// `row` elements of this input starting at `offset`.
struct ConcatPart {
  int64_t row = 0;     // elements of this input per output row
  int64_t offset = 0;  // where they start in the output row
  int64_t along = 0;   // this input's size along the axis
  int64_t first = 0;   // its first index along the axis in the output
  ConcatMode mode = ConcatMode::kCopyFloat;
  float factor = 1;  // R_i = float32(s_i / s_y) for kRequantize, s_i for kDequantize
};

/// A checked Concat node.
struct ConcatParams {
  int64_t axis = 1;     // counted with the batch as dimension 0, >= 1
  int64_t rows = 1;     // rows of the concatenation per image (the dims before the axis)
  int64_t out_row = 0;  // elements per output row
  std::vector<ConcatPart> parts;
};

/// Reads axis (negative counts from the end; not the batch) and checks the inputs against the
/// output: same rank, same dims off the axis, sizes adding up; dtypes by precision (an INT8 node
/// reads int8 and writes int8 with a scale, or float32).
Status read_concat_params(const OpInit& init, ConcatParams* out);

}  // namespace trtn
