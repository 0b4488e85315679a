#include "core/embed_params.h"

#include <string>
#include <vector>

namespace trtn {

Status read_embed_params(const OpInit& init, EmbedParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  int64_t num_output = 0, input_dim = 0;
  bool bias_term = false;
  TRTN_TRY(init.attr_int("numOutput", &num_output));
  TRTN_TRY(init.attr_int("inputDim", &input_dim));
  TRTN_TRY(init.attr_bool("biasTerm", &bias_term));
  if (num_output < 1) return init.error("numOutput must be >= 1, got " + std::to_string(num_output));
  // Indices travel as float32, which holds every integer up to 2^24 exactly.
  if (input_dim < 1 || input_dim > (int64_t{1} << 24)) {
    return init.error("inputDim must be in [1, 16777216], got " + std::to_string(input_dim));
  }
  std::vector<int64_t> want = x.dims;
  want.push_back(num_output);
  if (y.dims != want) return init.error("the output must be the input's shape followed by numOutput");
  const Blob* table = init.blob("0");
  if (table == nullptr || table->dtype != DType::kFloat32 ||
      table->dims != std::vector<int64_t>{input_dim, num_output}) {
    return init.error("needs the float32 table '" + init.node.name + "/0' of [" + std::to_string(input_dim) + ", " +
                      std::to_string(num_output) + "]");
  }
  const Blob* bias = nullptr;
  if (bias_term) {
    bias = init.blob("1");
    if (bias == nullptr || bias->dtype != DType::kFloat32 || bias->volume() != num_output) {
      return init.error("needs the float32 bias '" + init.node.name + "/1' of " + std::to_string(num_output) +
                        " values");
    }
  }
  out->table = table;
  out->bias = bias;
  out->input_dim = input_dim;
  out->num_output = num_output;
  out->indices_per_image = x.volume;
  return Status::ok();
}

}  // namespace trtn
