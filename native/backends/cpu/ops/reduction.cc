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

namespace trtn::cpu {
namespace {

constexpr int64_t kBlock = 1 << 12;

enum class Operation { kSum, kAsum, kSumSq, kMean };

class ReductionOp final : public CpuOp {
 public:
  ReductionOp(Operation op, int64_t rows_per_image, int64_t dim, double coeff)
      : op_(op), rows_per_image_(rows_per_image), dim_(dim), blocks_((dim + kBlock - 1) / kBlock),
        // Caffe divides coeff by the row length for MEAN.
        scale_(op == Operation::kMean ? coeff / static_cast<double>(dim) : coeff) {}

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
      case Operation::kSum:
      case Operation::kMean:
        for (int64_t i = 0; i < n; ++i) s += p[i];
        break;
      case Operation::kAsum:
        for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(p[i]));
        break;
      case Operation::kSumSq:
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]) * p[i];
        break;
    }
    return s;
  }

  Operation op_;
  int64_t rows_per_image_;
  int64_t dim_;
  int64_t blocks_;
  double scale_;
};

}  // namespace

Status make_reduction(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_float(1, 1);
  if (!st.is_ok()) return st;
  const TensorDesc& x = init.input(0);
  const TensorDesc& y = init.output(0);
  std::string operation;
  int64_t axis = 0;
  double coeff = 0;
  if (!(st = init.attr_string("operation", &operation)).is_ok()) return st;
  if (!(st = init.attr_int("axis", &axis)).is_ok()) return st;
  if (!(st = init.attr_double("coeff", &coeff)).is_ok()) return st;
  Operation op;
  if (operation == "SUM") op = Operation::kSum;
  else if (operation == "ASUM") op = Operation::kAsum;
  else if (operation == "SUMSQ") op = Operation::kSumSq;
  else if (operation == "MEAN") op = Operation::kMean;
  else return init.error("unknown operation '" + operation + "' (SUM, ASUM, SUMSQ or MEAN)");
  if (!std::isfinite(coeff)) return init.error("coeff must be a finite number");
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (axis == 0) return init.error("cannot reduce across the batch (axis 0)");
  if (axis < 1 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  const size_t a = static_cast<size_t>(axis - 1);
  const std::vector<int64_t> want(x.dims.begin(), x.dims.begin() + a);
  if (y.dims != want) return init.error("the output must keep exactly the dims before the axis");
  int64_t rows = 1;
  for (size_t i = 0; i < a; ++i) rows *= x.dims[i];
  // Caffe holds coeff as a float32 parameter.
  const double c = static_cast<float>(coeff);
  *out = std::make_unique<ReductionOp>(op, rows, x.volume / rows, c);
  return Status::ok();
}

}  // namespace trtn::cpu
