// Tile (Caffe's TileLayer): seen from `axis`, the input is [outer, inner] with inner = the volume
// of the dims from `axis` on; each outer block of `inner` values is written `tiles` times in a row.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "backends/cpu/ops/op.h"
#include "core/tile_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class TileOp final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    TileParams p;
    TRTN_TRY(read_tile_params(init, &p));
    outer_ = p.outer;
    inner_ = p.inner;
    tiles_ = p.tiles;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const int64_t inner = inner_, tiles = tiles_;
    try {
      // One task item is one copy of one block: output block b is input block b / tiles.
      args.pool.parallel_for(
          args.batch * outer_ * tiles, std::max<int64_t>(1, kGrain / inner), [=](int64_t begin, int64_t end) {
            for (int64_t b = begin; b < end; ++b) {
              std::memcpy(y + b * inner, x + (b / tiles) * inner, static_cast<size_t>(inner) * sizeof(float));
            }
          });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Tile");
    }
    return Status::ok();
  }

 private:
  int64_t outer_ = 0;  // blocks per image
  int64_t inner_ = 0;  // values per block
  int64_t tiles_ = 0;
};

}  // namespace

Status make_tile(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<TileOp>(init, out); }

}  // namespace trtn::cpu
