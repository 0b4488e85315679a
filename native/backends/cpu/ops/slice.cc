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

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class SliceOp final : public CpuOp {
 public:
  SliceOp(int64_t outer, int64_t dim, int64_t inner, std::vector<int64_t> starts, std::vector<int64_t> sizes)
      : outer_(outer), dim_(dim), inner_(inner), starts_(std::move(starts)), sizes_(std::move(sizes)) {}

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    const std::vector<void*>& outs = args.out;
    try {
      args.pool.parallel_for(args.batch * outer_, std::max<int64_t>(1, kGrain / (dim_ * inner_)),
                             [&](int64_t begin, int64_t end) {
                               for (int64_t r = begin; r < end; ++r) {
                                 for (size_t k = 0; k < sizes_.size(); ++k) {
                                   const int64_t n = sizes_[k] * inner_;
                                   std::memcpy(static_cast<float*>(outs[k]) + r * n,
                                               x + (r * dim_ + starts_[k]) * inner_,
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
  int64_t outer_;  // rows per image before the axis
  int64_t dim_;    // input length along the axis
  int64_t inner_;  // values per step along the axis
  std::vector<int64_t> starts_, sizes_;  // per output, along the axis
};

}  // namespace

Status make_slice(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_float(1, 0);
  if (!st.is_ok()) return st;
  const TensorDesc& x = init.input(0);
  int64_t axis = 0;
  std::vector<int64_t> points;
  if (!(st = init.attr_int("axis", &axis)).is_ok()) return st;
  if (!(st = init.attr_ints("points", &points)).is_ok()) return st;
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (axis == 0) return init.error("cannot slice along the batch (axis 0)");
  if (axis < 1 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  const size_t a = static_cast<size_t>(axis - 1);  // the axis among the per-image dims
  const int64_t dim = x.dims[a];
  if (points.size() + 1 != init.node.outputs.size()) {
    return init.error(std::to_string(init.node.outputs.size()) + " outputs need " +
                      std::to_string(init.node.outputs.size() - 1) + " slice points, got " + std::to_string(points.size()));
  }
  std::vector<int64_t> bounds{0};
  for (int64_t p : points) {
    if (p <= bounds.back() || p >= dim) {
      return init.error("slice points must increase within (0, " + std::to_string(dim) + "); got " + std::to_string(p) +
                        " after " + std::to_string(bounds.back()));
    }
    bounds.push_back(p);
  }
  bounds.push_back(dim);
  std::vector<int64_t> starts, sizes;
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    std::vector<int64_t> want = x.dims;
    want[a] = bounds[k + 1] - bounds[k];
    if (init.output(k).dims != want) {
      return init.error("output " + std::to_string(k) + " ('" + init.output(k).name + "') does not have the slice's shape");
    }
    starts.push_back(bounds[k]);
    sizes.push_back(want[a]);
  }
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < a; ++i) outer *= x.dims[i];
  for (size_t i = a + 1; i < x.dims.size(); ++i) inner *= x.dims[i];
  *out = std::make_unique<SliceOp>(outer, dim, inner, std::move(starts), std::move(sizes));
  return Status::ok();
}

}  // namespace trtn::cpu
