// ArgMax (Caffe's ArgMaxLayer): the top_k largest values of each row and their indices (as
// floats). With `axis`, a row runs along that axis (stride = the volume after it) and the output
// has top_k in its place: indices, or the values when outMaxVal. Without `axis`, a row is all the
// values of one image and the output per image is top_k indices, followed by the top_k values when
// outMaxVal (the (N, 1 or 2, top_k, 1) layout).
//
// Order: Caffe's, which sorts (value, index) pairs with std::greater: larger values first and,
// for equal values, the larger index first. NaN counts as larger than every number (Caffe's
// comparison is undefined there), so the order is a strict total order and the sort is well
// defined for any input.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/argmax_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class ArgMaxOp final : public CpuOp {
 public:
  /// Rows of `dim` values at stride `stride`, `outer` groups of `stride` rows per image.
  Status init(const OpInit& init) {
    ArgMaxParams p;
    TRTN_TRY(read_argmax_params(init, &p));
    outer_ = p.outer;
    dim_ = p.dim;
    stride_ = p.stride;
    top_k_ = p.top_k;
    has_axis_ = p.has_axis;
    out_max_val_ = p.out_max_val;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const int64_t rows = args.batch * outer_ * stride_;
    std::atomic<bool> out_of_memory{false};
    try {
      args.pool.parallel_for(rows, std::max<int64_t>(1, kGrain / dim_), [&](int64_t begin, int64_t end) {
        // Allocation happens on the pool's threads, so its failure is caught here, not let out.
        try {
          std::vector<std::pair<float, int64_t>> buf;
          if (top_k_ > 1) buf.resize(static_cast<size_t>(dim_));
          for (int64_t r = begin; r < end; ++r) row(x, y, r, &buf);
        } catch (const std::bad_alloc&) {
          out_of_memory = true;
        }
      });
    } catch (const std::bad_alloc&) {
      out_of_memory = true;
    }
    if (out_of_memory) return Status(Code::kOutOfMemory, "cpu backend: out of memory running ArgMax");
    return Status::ok();
  }

 private:
  void row(const float* x, float* y, int64_t r, std::vector<std::pair<float, int64_t>>* buf) const {
    const int64_t group = r / stride_, inner = r % stride_;
    const float* in = x + group * dim_ * stride_ + inner;
    // Where the j-th result goes, and its value when a second half holds them (no axis).
    float* idx_out = has_axis_ ? y + group * top_k_ * stride_ + inner : y + r * top_k_ * (out_max_val_ ? 2 : 1);
    const int64_t out_stride = has_axis_ ? stride_ : 1;
    auto write = [&](int64_t j, float value, int64_t index) {
      if (has_axis_) {
        idx_out[j * out_stride] = out_max_val_ ? value : static_cast<float>(index);
      } else {
        idx_out[j] = static_cast<float>(index);
        if (out_max_val_) idx_out[top_k_ + j] = value;
      }
    };
    if (top_k_ == 1) {
      int64_t best = 0;
      for (int64_t j = 1; j < dim_; ++j) {
        if (argmax_before(in[j * stride_], j, in[best * stride_], best)) best = j;
      }
      write(0, in[best * stride_], best);
      return;
    }
    auto& v = *buf;
    for (int64_t j = 0; j < dim_; ++j) v[j] = {in[j * stride_], j};
    std::partial_sort(v.begin(), v.begin() + top_k_, v.end(),
                      [](const auto& a, const auto& b) { return argmax_before(a.first, a.second, b.first, b.second); });
    for (int64_t j = 0; j < top_k_; ++j) write(j, v[j].first, v[j].second);
  }

  int64_t outer_ = 0, dim_ = 0, stride_ = 0, top_k_ = 0;
  bool has_axis_ = false, out_max_val_ = false;
};

}  // namespace

Status make_argmax(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<ArgMaxOp>(init, out); }

}  // namespace trtn::cpu
