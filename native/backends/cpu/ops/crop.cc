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

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class CropOp final : public CpuOp {
 public:
  /// Per-image dims of the output, the input's strides and the offsets (all per-image).
  CropOp(std::vector<int64_t> out_dims, std::vector<int64_t> in_strides, std::vector<int64_t> offsets,
         int64_t in_volume)
      : out_dims_(std::move(out_dims)), in_strides_(std::move(in_strides)), offsets_(std::move(offsets)),
        in_volume_(in_volume) {
    const size_t r = out_dims_.size();
    row_ = r == 0 ? 1 : out_dims_[r - 1];
    for (size_t i = 0; i + 1 < r; ++i) rows_per_image_ *= out_dims_[i];
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
  int64_t in_volume_;
  int64_t row_ = 1;
  int64_t rows_per_image_ = 1;
};

}  // namespace

Status make_crop(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_float(2, 1);
  if (!st.is_ok()) return st;
  const TensorDesc& x = init.input(0);
  const TensorDesc& ref = init.input(1);
  const TensorDesc& y = init.output(0);
  int64_t axis = 0;
  std::vector<int64_t> offsets;
  if (!(st = init.attr_int("axis", &axis)).is_ok()) return st;
  if (!(st = init.attr_ints("offsets", &offsets)).is_ok()) return st;
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  if (ref.dims.size() != x.dims.size()) return init.error("both inputs need the same number of dimensions");
  if (axis < 0 || axis >= rank) {
    return init.error("axis " + std::to_string(axis) + " is out of range for a " + std::to_string(rank) + "-D input");
  }
  if (static_cast<int64_t>(offsets.size()) != rank - axis) {
    return init.error("needs one offset per cropped axis (" + std::to_string(rank - axis) + "), got " +
                      std::to_string(offsets.size()));
  }
  // Both inputs always have the run's batch, so the batch axis can only be "cropped" whole.
  if (axis == 0) {
    if (offsets[0] != 0) return init.error("cannot crop the batch (axis 0) at offset " + std::to_string(offsets[0]));
    offsets.erase(offsets.begin());
  }
  const size_t first = static_cast<size_t>(std::max<int64_t>(axis, 1) - 1);  // first cropped per-image dim
  std::vector<int64_t> per_image(x.dims.size(), 0);
  std::vector<int64_t> want = x.dims;
  for (size_t i = first; i < x.dims.size(); ++i) {
    const int64_t off = offsets[i - first];
    if (off < 0 || off + ref.dims[i] > x.dims[i]) {
      return init.error("cannot crop axis " + std::to_string(i + 1) + " of size " + std::to_string(x.dims[i]) + " to " +
                        std::to_string(ref.dims[i]) + " at offset " + std::to_string(off));
    }
    per_image[i] = off;
    want[i] = ref.dims[i];
  }
  if (y.dims != want) return init.error("the output does not have the cropped shape");
  std::vector<int64_t> strides(x.dims.size(), 1);
  for (size_t i = x.dims.size(); i-- > 1;) strides[i - 1] = strides[i] * x.dims[i];
  *out = std::make_unique<CropOp>(want, std::move(strides), std::move(per_image), x.volume);
  return Status::ok();
}

}  // namespace trtn::cpu
