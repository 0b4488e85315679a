// Host helpers of the non-GEMM ops: dense views of whole tensors, image ranges of a view, the
// place checks every op runs at init, their error messages, and dispatch over float storage types.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/cuda/kernels/index_math.cuh"
#include "backends/cuda/op.h"

namespace trtn::cuda {

inline const char* elem_name(Elem e) {
  return e == Elem::kF32 ? "float32" : e == Elem::kF16 ? "float16" : e == Elem::kI8 ? "int8" : "uint8";
}
inline bool is_float_elem(Elem e) { return e == Elem::kF32 || e == Elem::kF16; }

/// A dense kLinear view of `batch` images of per-image dims `dims` at `data`: rank <= 3 maps to
/// [C, H, W] (missing dims 1), a larger rank to [dims[0], the product of the rest, 1].
inline View4 dense_view(void* data, Elem elem, int batch, const std::vector<int64_t>& dims, float scale = 0.0f) {
  int64_t c = 1, h = 1, w = 1;
  if (dims.size() >= 1) c = dims[0];
  if (dims.size() == 2) h = dims[1];
  if (dims.size() == 3) {
    h = dims[1];
    w = dims[2];
  }
  if (dims.size() > 3) {
    for (size_t i = 1; i < dims.size(); ++i) h *= dims[i];
  }
  View4 v;
  v.data = data;
  v.elem = elem;
  v.layout = Layout::kLinear;
  v.n = batch;
  v.c = static_cast<int32_t>(c);
  v.h = static_cast<int32_t>(h);
  v.w = static_cast<int32_t>(w);
  v.c_write = v.c;
  v.sw = 1;
  v.sh = w;
  v.sc = h * w;
  v.sn = c * h * w;
  v.scale = scale;
  return v;
}

/// The dense view of tensor `t` at the data, element type, batch and scale of `given`.
inline View4 dense_like(const View4& given, const TensorDesc& t) {
  return dense_view(given.data, given.elem, given.n, t.dims, given.scale);
}

/// Images [n0, n0 + count) of a view.
inline View4 images(const View4& v, int n0, int count) {
  View4 r = v;
  r.data = static_cast<char*>(v.data) + static_cast<int64_t>(n0) * v.sn * elem_bytes(v.elem);
  r.n = count;
  return r;
}

/// Checks the places the engine chose for a node's tensors: int8 graph tensors stored as int8,
/// uint8 ones as uint8, float32 ones as float32 or float16; for ops without views, whole dense
/// kLinear tensors.
inline Status check_places(const CudaOpInit& init, bool takes_views) {
  auto check = [&](int t, const Place& p) -> Status {
    const TensorDesc& d = init.node.graph.tensors[t];
    const bool ok = d.dtype == DType::kInt8    ? p.elem == Elem::kI8
                    : d.dtype == DType::kUInt8 ? p.elem == Elem::kU8
                                               : is_float_elem(p.elem);
    if (!ok) {
      return init.node.error("tensor '" + d.name + "' is " + dtype_name(d.dtype) + " in the graph but stored as " +
                             elem_name(p.elem));
    }
    if (!takes_views && (p.layout != Layout::kLinear || p.c_offset != 0 || p.root_c != p.c)) {
      return Status(Code::kInternal, "cuda backend, node '" + init.node.node.name + "' (" + init.node.node.op +
                                         "): needs tensor '" + d.name + "' as a whole kLinear tensor");
    }
    if (volume_of(d.dims) >= kMaxLaunchItems) {
      return init.node.error("tensor '" + d.name + "' has more than 2^31 elements per image");
    }
    return Status::ok();
  };
  for (size_t i = 0; i < init.node.node.inputs.size(); ++i) {
    Status st = check(init.node.node.inputs[i], init.in_place(i));
    if (!st.is_ok()) return st;
  }
  for (size_t i = 0; i < init.node.node.outputs.size(); ++i) {
    Status st = check(init.node.node.outputs[i], init.out_place(i));
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

/// "cuda backend, node '<name>' (<op>): <what>" as kInternal: a run with views the op cannot take.
inline Status run_error(const std::string& node, const std::string& op, const std::string& what) {
  return Status(Code::kInternal, "cuda backend, node '" + node + "' (" + op + "): " + what);
}

/// kInternal: no kernel for these element types.
inline Status no_kernel(const std::string& what, Elem in, Elem out) {
  return Status(Code::kInternal,
                "cuda backend: " + what + " has no kernel for " + elem_name(in) + " -> " + elem_name(out));
}

/// Returns fn(Tin{}, Tout{}) for the storage types of two float elements (float32 or float16).
template <typename Fn>
Status dispatch_float2(const std::string& what, Elem in, Elem out, Fn fn) {
  if (in == Elem::kF32 && out == Elem::kF32) return fn(float{}, float{});
  if (in == Elem::kF32 && out == Elem::kF16) return fn(float{}, __half{});
  if (in == Elem::kF16 && out == Elem::kF32) return fn(__half{}, float{});
  if (in == Elem::kF16 && out == Elem::kF16) return fn(__half{}, __half{});
  return no_kernel(what, in, out);
}

/// The workspace layouts of an op whose scratch depends on the batch (CUB asks the runtime for its
/// scratch sizes), worked out once per batch: the contexts of one engine run an op at once, so the
/// map is guarded. `plan(batch, &layout)` fills a new one.
template <class Layout>
class LayoutCache {
 public:
  template <class Plan>
  Status get(int batch, Layout* out, Plan plan) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = layouts_.find(batch);
    if (it == layouts_.end()) {
      Layout fresh;
      TRTN_TRY(plan(batch, &fresh));
      it = layouts_.emplace(batch, fresh).first;
    }
    *out = it->second;
    return Status::ok();
  }

 private:
  mutable std::mutex mu_;
  mutable std::unordered_map<int, Layout> layouts_;
};

/// Lays out workspace parts one after another, each at a 256-byte boundary.
struct WorkspaceCursor {
  size_t end = 0;
  /// The offset of a new part of `bytes` bytes.
  size_t take(size_t bytes) {
    const size_t at = end;
    end += (bytes + 255) / 256 * 256;
    return at;
  }
};

}  // namespace trtn::cuda
