// What a Tile node means on every backend (Caffe's TileLayer): seen from `axis`, the input is
// [outer, inner] with inner = the volume of the dims from `axis` on; each outer block of `inner`
// values is written `tiles` times in a row.
#pragma once

#include <cstdint>

#include "core/op_init.h"

namespace trtn {

/// A checked Tile node.
struct TileParams {
  int64_t outer = 1;  // blocks per image
  int64_t inner = 1;  // values per block
  int64_t tiles = 1;
};

/// Reads axis (not the batch) and tiles; checks one float32 input and the tiled output shape.
Status read_tile_params(const OpInit& init, TileParams* out);

}  // namespace trtn
