#include "backends/cuda/op.h"

namespace trtn::cuda {

View4 Place::view(void* root_base, int batch) const {
  View4 v;
  v.elem = elem;
  v.layout = layout;
  v.n = static_cast<int32_t>(batch * rows);  // graph.cc keeps max_batch x rows below 2^31
  v.c = static_cast<int32_t>(c);
  v.h = static_cast<int32_t>(h);
  v.w = static_cast<int32_t>(w);
  v.c_write = static_cast<int32_t>(c_write);
  v.scale = scale;
  v.sn = root_image_elems();
  int64_t first = 0;
  if (layout == Layout::kNHWC) {
    v.sc = 1;
    v.sw = root_c;
    v.sh = root_c * w;
    first = c_offset;
  } else {
    v.sw = 1;
    v.sh = w;
    v.sc = h * w;
    first = c_offset * h * w;
  }
  v.data = static_cast<char*>(root_base) + first * elem_bytes(elem);
  return v;
}

}  // namespace trtn::cuda
