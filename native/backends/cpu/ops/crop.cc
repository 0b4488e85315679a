// Crop (Caffe's CropLayer): input 0 cut to input 1's dimensions from `axis` on, starting at
// `offsets` (one per cropped axis); dimensions before `axis` are kept. Input 1 gives only its
// shape. The copy goes one output row (the last dimension, contiguous in both tensors) at a time.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/crop_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class CropOp final : public CpuOp {
 public:
  /// Per-image dims of the output, the input's strides and the offsets (all per-image).
  Status init(const OpInit& init) {
    CropParams p;
    TRTN_TRY(read_crop_params(init, &p));
    out_dims_ = std::move(p.out_dims);
    in_strides_ = std::move(p.in_strides);
    offsets_ = std::move(p.offsets);
    in_volume_ = p.in_volume;
    const size_t r = out_dims_.size();
    row_ = r == 0 ? 1 : out_dims_[r - 1];
    for (size_t i = 0; i + 1 < r; ++i) rows_per_image_ *= out_dims_[i];
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    try {
      args.pool.parallel_for(args.batch * rows_per_image_, std::max<int64_t>(1, kGrain / row_),
                             [&](int64_t begin, int64_t end) {
                               for (int64_t g = begin; g < end; ++g) copy_row(x, y, g);
                             });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Crop");
    }
    return Status::ok();
  }

 private:
  /// Copies output row g (image g / rows_per_image_) from its place in the input.
  void copy_row(const float* x, float* y, int64_t g) const {
    const int64_t n = g / rows_per_image_;
    int64_t rest = g % rows_per_image_;
    const size_t r = out_dims_.size();
    if (r == 0) {  // one value per image: nothing to crop
      y[g] = x[n * in_volume_];
      return;
    }
    int64_t src = n * in_volume_ + offsets_[r - 1];
    for (size_t i = r - 1; i-- > 0;) {
      src += (rest % out_dims_[i] + offsets_[i]) * in_strides_[i];
      rest /= out_dims_[i];
    }
    std::memcpy(y + g * row_, x + src, static_cast<size_t>(row_) * sizeof(float));
  }

  std::vector<int64_t> out_dims_, in_strides_, offsets_;
  int64_t in_volume_ = 0;
  int64_t row_ = 1;
  int64_t rows_per_image_ = 1;
};

}  // namespace

Status make_crop(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<CropOp>(init, out); }

}  // namespace trtn::cpu
