// What an Embed node means on every backend (Caffe's EmbedLayer): every input value is an index
// into a table of inputDim rows of numOutput values ("<node>/0"); the output holds that row, plus
// the bias "<node>/1" when biasTerm. An index that is not an integer in [0, inputDim) is a
// run-time error (never a read outside the table).
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked Embed node; table and bias point into the WeightStore.
struct EmbedParams {
  const Blob* table = nullptr;  // [input_dim, num_output] float32
  const Blob* bias = nullptr;   // [num_output] float32, or nullptr without biasTerm
  int64_t input_dim = 0, num_output = 0;
  int64_t indices_per_image = 0;
};

/// Reads numOutput, inputDim and biasTerm; checks one float32 input, the output (the input's
/// shape followed by numOutput) and the blobs.
Status read_embed_params(const OpInit& init, EmbedParams* out);

}  // namespace trtn
