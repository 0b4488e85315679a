// Permute (core/permute_params.h): each output value read from its permuted input position; one
// task item is one output row (the last output dim), walked with an odometer over the others.
#include <algorithm>
#include <memory>
#include <new>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/permute_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class PermuteOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_permute_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const PermuteParams& p = p_;
    const size_t rank = p.out_dims.size();
    const int64_t row = rank == 0 ? 1 : p.out_dims[rank - 1];
    const int64_t row_stride = rank == 0 ? 1 : p.in_strides[rank - 1];
    const int64_t rows_per_image = p.volume / std::max<int64_t>(1, row);
    try {
      args.pool.parallel_for(args.batch * rows_per_image, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, row)),
                             [&](int64_t begin, int64_t end) {
                               for (int64_t r = begin; r < end; ++r) {
                                 const int64_t n = r / rows_per_image;
                                 int64_t rest = r % rows_per_image, from = n * p.volume;
                                 for (size_t d = rank - 1; d-- > 0;) {
                                   from += (rest % p.out_dims[d]) * p.in_strides[d];
                                   rest /= p.out_dims[d];
                                 }
                                 float* yr = y + r * row;
                                 for (int64_t i = 0; i < row; ++i) yr[i] = x[from + i * row_stride];
                               }
                             });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Permute");
    }
    return Status::ok();
  }

 private:
  PermuteParams p_;
};

}  // namespace

Status make_permute(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<PermuteOp>(init, out); }

}  // namespace trtn::cpu
