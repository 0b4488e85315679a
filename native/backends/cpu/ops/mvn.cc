// MVN (Caffe's MVNLayer): each row (one channel of one image, or the whole image with
// acrossChannels) has its mean subtracted; with normalizeVariance it is then divided by
// sqrt(var) + eps, var = mean((x - mean)^2), as Caffe does (eps is added to the standard
// deviation, not to the variance). Statistics are summed in double over fixed blocks of kBlock
// values (deterministic for any thread count, parallel even for one long row); each output value
// is computed in double and rounded once.
#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/mvn_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kBlock = 1 << 12;
constexpr int64_t kGrain = 1 << 14;

class MvnOp final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    MvnParams p;
    TRTN_TRY(read_mvn_params(init, &p));
    rows_per_image_ = p.rows_per_image;
    dim_ = p.dim;
    blocks_ = (p.dim + kBlock - 1) / kBlock;
    normalize_variance_ = p.normalize_variance;
    eps_ = p.eps;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const int64_t rows = args.batch * rows_per_image_;
    try {
      std::vector<double> partial(static_cast<size_t>(rows * blocks_));
      std::vector<double> mean(static_cast<size_t>(rows));
      std::vector<double> inv(static_cast<size_t>(rows), 1.0);  // 1 / (std + eps) per row

      sum_blocks(args.pool, rows, &partial, [&](int64_t r, int64_t i) { return static_cast<double>(x[r * dim_ + i]); });
      finish_rows(args.pool, rows, partial, [&](int64_t r, double s) { mean[r] = s / static_cast<double>(dim_); });
      if (normalize_variance_) {
        sum_blocks(args.pool, rows, &partial, [&](int64_t r, int64_t i) {
          const double d = x[r * dim_ + i] - mean[r];
          return d * d;
        });
        finish_rows(args.pool, rows, partial,
                    [&](int64_t r, double s) { inv[r] = 1.0 / (std::sqrt(s / static_cast<double>(dim_)) + eps_); });
      }
      args.pool.parallel_for(rows * dim_, kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t r = i / dim_;
          y[i] = static_cast<float>((x[i] - mean[r]) * inv[r]);
        }
      });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running MVN");
    }
    return Status::ok();
  }

 private:
  /// partial[r * blocks_ + b] = the sum of term(r, i) over block b of row r.
  template <typename Term>
  void sum_blocks(ThreadPool& pool, int64_t rows, std::vector<double>* partial, const Term& term) const {
    double* out = partial->data();
    pool.parallel_for(rows * blocks_, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t r = t / blocks_, start = (t % blocks_) * kBlock, stop = std::min(dim_, start + kBlock);
        double s = 0;
        for (int64_t i = start; i < stop; ++i) s += term(r, i);
        out[t] = s;
      }
    });
  }

  /// Calls done(r, the sum of row r's partials in block order) for every row.
  template <typename Done>
  void finish_rows(ThreadPool& pool, int64_t rows, const std::vector<double>& partial, const Done& done) const {
    pool.parallel_for(rows, std::max<int64_t>(1, kBlock / blocks_), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        double s = 0;
        for (int64_t b = 0; b < blocks_; ++b) s += partial[r * blocks_ + b];
        done(r, s);
      }
    });
  }

  int64_t rows_per_image_ = 0;
  int64_t dim_ = 0;
  int64_t blocks_ = 0;
  bool normalize_variance_ = false;
  double eps_ = 0;
};

}  // namespace

Status make_mvn(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<MvnOp>(init, out); }

}  // namespace trtn::cpu
