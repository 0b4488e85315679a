// Slice (Caffe's SliceLayer): cuts the input along `axis` at `points` into consecutive parts, one
// per output. Seen from the axis, the input is [outer, dim, inner]; output k takes the contiguous
// run [points[k-1], points[k]) * inner of every outer row.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/slice_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class SliceOp final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    SliceParams p;
    TRTN_TRY(read_slice_params(init, &p));
    outer_ = p.outer;
    dim_ = p.dim;
    inner_ = p.inner;
    starts_ = std::move(p.starts);
    sizes_ = std::move(p.sizes);
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    const std::vector<void*>& outs = args.out;
    try {
      args.pool.parallel_for(
          args.batch * outer_, std::max<int64_t>(1, kGrain / (dim_ * inner_)), [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) {
              for (size_t k = 0; k < sizes_.size(); ++k) {
                const int64_t n = sizes_[k] * inner_;
                std::memcpy(static_cast<float*>(outs[k]) + r * n, x + (r * dim_ + starts_[k]) * inner_,
                            static_cast<size_t>(n) * sizeof(float));
              }
            }
          });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Slice");
    }
    return Status::ok();
  }

 private:
  int64_t outer_ = 0;                    // rows per image before the axis
  int64_t dim_ = 0;                      // input length along the axis
  int64_t inner_ = 0;                    // values per step along the axis
  std::vector<int64_t> starts_, sizes_;  // per output, along the axis
};

}  // namespace

Status make_slice(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<SliceOp>(init, out); }

}  // namespace trtn::cpu
