// Reduction (Caffe's ReductionLayer): each row of the dims from `axis` on becomes one value,
// coeff * (SUM x | ASUM |x| | SUMSQ x^2 | MEAN x). Rows are summed in fixed blocks of kBlock values
// into double partial sums, then the partials of a row in block order: the result does not depend
// on the thread count, one long row still spreads over every core, and the double sums make this
// backend a close oracle for float32 accumulations on other backends.
#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/reduction_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kBlock = 1 << 12;

class ReductionOp final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    ReductionParams p;
    TRTN_TRY(read_reduction_params(init, &p));
    op_ = p.op;
    rows_per_image_ = p.rows_per_image;
    dim_ = p.dim;
    blocks_ = (p.dim + kBlock - 1) / kBlock;
    // Caffe divides coeff by the row length for MEAN.
    scale_ = p.op == ReductionOperation::kMean ? p.coeff / static_cast<double>(p.dim) : p.coeff;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const int64_t rows = args.batch * rows_per_image_;
    try {
      std::vector<double> partial(static_cast<size_t>(rows * blocks_));
      args.pool.parallel_for(rows * blocks_, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t r = t / blocks_, b = t % blocks_;
          const float* p = x + r * dim_ + b * kBlock;
          partial[t] = block_sum(p, std::min(kBlock, dim_ - b * kBlock));
        }
      });
      args.pool.parallel_for(rows, std::max<int64_t>(1, kBlock / blocks_), [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          double s = 0;
          for (int64_t b = 0; b < blocks_; ++b) s += partial[r * blocks_ + b];
          y[r] = static_cast<float>(s * scale_);
        }
      });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Reduction");
    }
    return Status::ok();
  }

 private:
  double block_sum(const float* p, int64_t n) const {
    double s = 0;
    switch (op_) {
      case ReductionOperation::kSum:
      case ReductionOperation::kMean:
        for (int64_t i = 0; i < n; ++i) s += p[i];
        break;
      case ReductionOperation::kAsum:
        for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(p[i]));
        break;
      case ReductionOperation::kSumSq:
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]) * p[i];
        break;
    }
    return s;
  }

  ReductionOperation op_ = ReductionOperation::kSum;
  int64_t rows_per_image_ = 0;
  int64_t dim_ = 0;
  int64_t blocks_ = 0;
  double scale_ = 0;
};

}  // namespace

Status make_reduction(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<ReductionOp>(init, out); }

}  // namespace trtn::cpu
