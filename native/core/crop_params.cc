#include "core/crop_params.h"

#include <algorithm>
#include <string>

namespace trtn {

Status read_crop_params(const OpInit& init, CropParams* out) {
  TRTN_TRY(init.expect_float(2, 1));
  const TensorDesc& x = init.input(0);
  const TensorDesc& ref = init.input(1);
  const TensorDesc& y = init.output(0);
  int64_t axis = 0;
  std::vector<int64_t> offsets;
  TRTN_TRY(init.attr_int("axis", &axis));
  TRTN_TRY(init.attr_ints("offsets", &offsets));
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
  out->out_dims = std::move(want);
  out->in_strides = std::move(strides);
  out->offsets = std::move(per_image);
  out->in_volume = x.volume;
  return Status::ok();
}

}  // namespace trtn
