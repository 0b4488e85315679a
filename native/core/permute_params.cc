#include "core/permute_params.h"

#include <string>
#include <vector>

namespace trtn {

Status read_permute_params(const OpInit& init, PermuteParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  std::vector<int64_t> order;
  TRTN_TRY(init.attr_ints("order", &order));
  const size_t rank = x.dims.size() + 1;
  if (order.size() != rank) {
    return init.error("order has " + std::to_string(order.size()) + " axes; the input has " + std::to_string(rank));
  }
  if (order[0] != 0) return init.error("order must keep the batch first (start with 0)");
  std::vector<int64_t> in_strides(x.dims.size(), 1);
  for (size_t i = x.dims.size(); i-- > 1;) in_strides[i - 1] = in_strides[i] * x.dims[i];
  PermuteParams p;
  std::vector<bool> seen(rank, false);
  for (size_t i = 1; i < rank; ++i) {
    const int64_t a = order[i];
    if (a < 1 || a >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(a)]) {
      return init.error("order " + dims_text(order) + " is not a permutation of the axes 0.." +
                        std::to_string(rank - 1));
    }
    seen[static_cast<size_t>(a)] = true;
    p.out_dims.push_back(x.dims[static_cast<size_t>(a - 1)]);
    p.in_strides.push_back(in_strides[static_cast<size_t>(a - 1)]);
  }
  if (y.dims != p.out_dims) return init.error("the output does not have the permuted shape " + dims_text(p.out_dims));
  p.volume = x.volume;
  *out = p;
  return Status::ok();
}

}  // namespace trtn
