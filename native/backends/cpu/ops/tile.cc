// Tile (Caffe's TileLayer): seen from `axis`, the input is [outer, inner] with inner = the volume
// of the dims from `axis` on; each outer block of `inner` values is written `tiles` times in a row.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "backends/cpu/ops/op.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class TileOp final : public CpuOp {
 public:
  TileOp(int64_t outer, int64_t inner, int64_t tiles) : outer_(outer), inner_(inner), tiles_(tiles) {}

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const int64_t inner = inner_, tiles = tiles_;
    try {
      // One task item is one copy of one block: output block b is input block b / tiles.
      args.pool.parallel_for(args.batch * outer_ * tiles, std::max<int64_t>(1, kGrain / inner),
                             [=](int64_t begin, int64_t end) {
                               for (int64_t b = begin; b < end; ++b) {
                                 std::memcpy(y + b * inner, x + (b / tiles) * inner,
                                             static_cast<size_t>(inner) * sizeof(float));
                               }
                             });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Tile");
    }
    return Status::ok();
  }

 private:
  int64_t outer_;  // blocks per image
  int64_t inner_;  // values per block
  int64_t tiles_;
};

}  // namespace

Status make_tile(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_float(1, 1);
  if (!st.is_ok()) return st;
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  int64_t axis = 0, tiles = 0;
  if (!(st = init.attr_int("axis", &axis)).is_ok()) return st;
  if (!(st = init.attr_int("tiles", &tiles)).is_ok()) return st;
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
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < a; ++i) outer *= x.dims[i];
  for (size_t i = a; i < x.dims.size(); ++i) inner *= x.dims[i];
  *out = std::make_unique<TileOp>(outer, inner, tiles);
  return Status::ok();
}

}  // namespace trtn::cpu
