// Plugin layers (core/plugins.h) on the GPU: the library's forward_cuda on the whole batch, on the
// engine's stream, in float32 dense NCHW. Tensors the engine keeps in another form (FP16 engines,
// channel padding) are converted into workspace copies before the call and back after it.
#include <memory>
#include <vector>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/op.h"
#include "core/plugins.h"

namespace trtn::cuda {
namespace {

bool usable_as_is(const View4& v) { return v.elem == Elem::kF32 && v.dense_nchw(); }

/// Bytes of a float32 copy of `batch` images of a tensor.
size_t copy_bytes(const trtn_dims& d, int batch) { return static_cast<size_t>(dims_volume(d)) * batch * sizeof(float); }

class PluginOp final : public CudaOp {
 public:
  Status init(const CudaOpInit& init) { return read_plugin_params(init.node, &p_); }

  /// Room for a float32 copy of every input and output (used only for those not dense float32).
  size_t workspace_bytes(int batch) const override {
    WorkspaceCursor cur;
    for (const auto* dims : {&p_.in_dims, &p_.out_dims}) {
      for (const trtn_dims& d : *dims) cur.take(copy_bytes(d, batch));
    }
    return cur.end;
  }

  Status run(const RunArgs& args) const override {
    char* scratch = static_cast<char*>(args.workspace);
    WorkspaceCursor cur;
    auto place = [&](const View4& v, const trtn_dims& dims) {
      return dense_view(scratch + cur.take(copy_bytes(dims, args.batch)), Elem::kF32, v.n, {v.c, v.h, v.w});
    };
    std::vector<const float*> in(args.in.size());
    std::vector<View4> out_copy(args.out.size());
    std::vector<float*> out(args.out.size());
    for (size_t i = 0; i < args.in.size(); ++i) {
      if (usable_as_is(args.in[i])) {
        in[i] = static_cast<const float*>(args.in[i].data);
        continue;
      }
      const View4 d = place(args.in[i], p_.in_dims[i]);
      TRTN_TRY(launch_reformat(args.in[i], d, args.stream));
      in[i] = static_cast<const float*>(d.data);
    }
    for (size_t i = 0; i < args.out.size(); ++i) {
      out_copy[i] = usable_as_is(args.out[i]) ? args.out[i] : place(args.out[i], p_.out_dims[i]);
      out[i] = static_cast<float*>(out_copy[i].data);
    }
    char error[512] = {0};
    const int32_t rc = p_.plugin.layer->forward_cuda(p_.params.c_str(), args.batch, static_cast<int32_t>(in.size()),
                                                     p_.in_dims.data(), in.data(), static_cast<int32_t>(out.size()),
                                                     p_.out_dims.data(), out.data(), args.stream, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (rc != 0) return p_.failed("forward_cuda", error);
    for (size_t i = 0; i < args.out.size(); ++i) {
      if (out_copy[i].data != args.out[i].data) TRTN_TRY(launch_reformat(out_copy[i], args.out[i], args.stream));
    }
    return Status::ok();
  }

 private:
  PluginParams p_;
};

}  // namespace

Status make_plugin(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PluginOp>(init, out); }

}  // namespace trtn::cuda
