#include "core/tile_params.h"

#include <string>
#include <vector>

namespace trtn {

Status read_tile_params(const OpInit& init, TileParams* out) {
  TRTN_TRY(init.expect_float(1, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  int64_t axis = 0, tiles = 0;
  TRTN_TRY(init.attr_int("axis", &axis));
  TRTN_TRY(init.attr_int("tiles", &tiles));
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (axis == 0) return init.error("cannot tile along the batch (axis 0)");
  if (axis < 1 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  if (tiles < 1) return init.error("tiles must be >= 1, got " + std::to_string(tiles));
  const size_t a = static_cast<size_t>(axis - 1);
  std::vector<int64_t> want = x.dims;
  want[a] *= tiles;
  if (y.dims != want) return init.error("the output does not have the tiled shape");
  TileParams p;
  for (size_t i = 0; i < a; ++i) p.outer *= x.dims[i];
  for (size_t i = a; i < x.dims.size(); ++i) p.inner *= x.dims[i];
  p.tiles = tiles;
  *out = p;
  return Status::ok();
}

}  // namespace trtn
