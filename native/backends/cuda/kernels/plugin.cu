// Plugin layers (core/plugins.h) on the GPU: the library's forward on the whole batch, on the
// engine's stream, in dense NCHW of one element type: forward_cuda_ex in float16 where the engine
// is FP16 and the layer takes float16 (or takes nothing else), else in float32; a version 1
// library's forward_cuda in float32. Tensors the engine keeps in another form (another element
// type, channel padding) are converted into workspace copies before the call and back after it;
// the layer's own scratch (workspace_size) follows them in the workspace.
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/op.h"
#include "core/plugins.h"

namespace trtn::cuda {
namespace {

class PluginOp final : public CudaOp {
 public:
  Status init(const CudaOpInit& init) {
    TRTN_TRY(read_plugin_params(init.node, &p_));
    const trtn_plugin_layer& l = *p_.plugin.layer;
    const bool fp16_engine = init.node.graph.precision == Precision::kFP16;
    if (l.forward_cuda_ex != nullptr) {
      const bool half =
          (l.cuda_types & TRTN_PLUGIN_FLOAT16) != 0 && (fp16_engine || (l.cuda_types & TRTN_PLUGIN_FLOAT32) == 0);
      dtype_ = half ? TRTN_PLUGIN_FLOAT16 : TRTN_PLUGIN_FLOAT32;
    }
    return Status::ok();
  }

  /// A copy of every input and output in the call's element type (used only for those the engine
  /// keeps in another form), then the layer's scratch.
  size_t workspace_bytes(int batch) const override {
    WorkspaceCursor cur;
    for (const auto* dims : {&p_.in_dims, &p_.out_dims}) {
      for (const trtn_dims& d : *dims) cur.take(copy_bytes(d, batch));
    }
    cur.take(scratch_bytes(batch));
    return cur.end;
  }

  std::string tactic_name(int /*i*/) const override {
    return dtype_ == 0 ? "forward_cuda (float32)"
                       : std::string("forward_cuda_ex (") + (dtype_ == TRTN_PLUGIN_FLOAT16 ? "float16)" : "float32)");
  }

  Status run(const RunArgs& args) const override {
    char* scratch = static_cast<char*>(args.workspace);
    WorkspaceCursor cur;
    auto place = [&](const View4& v, const trtn_dims& dims) {
      return dense_view(scratch + cur.take(copy_bytes(dims, args.batch)), elem(), v.n, {v.c, v.h, v.w});
    };
    std::vector<const void*> in(args.in.size());
    std::vector<View4> out_copy(args.out.size());
    std::vector<void*> out(args.out.size());
    for (size_t i = 0; i < args.in.size(); ++i) {
      if (usable_as_is(args.in[i])) {
        in[i] = args.in[i].data;
        continue;
      }
      const View4 d = place(args.in[i], p_.in_dims[i]);
      TRTN_TRY(launch_reformat(args.in[i], d, args.stream));
      in[i] = d.data;
    }
    for (size_t i = 0; i < args.out.size(); ++i) {
      out_copy[i] = usable_as_is(args.out[i]) ? args.out[i] : place(args.out[i], p_.out_dims[i]);
      out[i] = out_copy[i].data;
    }
    const size_t own = scratch_bytes(args.batch);
    void* workspace = own > 0 ? scratch + cur.take(own) : nullptr;
    TRTN_TRY(forward(args, in, out, workspace));
    for (size_t i = 0; i < args.out.size(); ++i) {
      if (out_copy[i].data != args.out[i].data) TRTN_TRY(launch_reformat(out_copy[i], args.out[i], args.stream));
    }
    return Status::ok();
  }

 private:
  Elem elem() const { return dtype_ == TRTN_PLUGIN_FLOAT16 ? Elem::kF16 : Elem::kF32; }
  bool usable_as_is(const View4& v) const { return v.elem == elem() && v.dense_nchw(); }
  /// Bytes of a copy of `batch` images of a tensor in the call's element type.
  size_t copy_bytes(const trtn_dims& d, int batch) const {
    return static_cast<size_t>(dims_volume(d)) * batch * elem_bytes(elem());
  }
  size_t scratch_bytes(int batch) const {
    const trtn_plugin_layer& l = *p_.plugin.layer;
    if (l.workspace_size == nullptr) return 0;
    return l.workspace_size(p_.params.c_str(), batch, dtype_, static_cast<int32_t>(p_.in_dims.size()),
                            p_.in_dims.data(), static_cast<int32_t>(p_.out_dims.size()), p_.out_dims.data());
  }

  Status forward(const RunArgs& args, const std::vector<const void*>& in, const std::vector<void*>& out,
                 void* workspace) const {
    const trtn_plugin_layer& l = *p_.plugin.layer;
    char error[512] = {0};
    const auto n_in = static_cast<int32_t>(in.size()), n_out = static_cast<int32_t>(out.size());
    int32_t rc = 0;
    if (dtype_ != 0) {
      rc = l.forward_cuda_ex(p_.params.c_str(), args.batch, dtype_, n_in, p_.in_dims.data(), in.data(), n_out,
                             p_.out_dims.data(), out.data(), workspace, args.stream, error, sizeof error);
    } else {
      std::vector<const float*> fin(in.size());
      std::vector<float*> fout(out.size());
      for (size_t i = 0; i < in.size(); ++i) fin[i] = static_cast<const float*>(in[i]);
      for (size_t i = 0; i < out.size(); ++i) fout[i] = static_cast<float*>(out[i]);
      rc = l.forward_cuda(p_.params.c_str(), args.batch, n_in, p_.in_dims.data(), fin.data(), n_out, p_.out_dims.data(),
                          fout.data(), args.stream, error, sizeof error);
    }
    error[sizeof error - 1] = '\0';
    return rc == 0 ? Status::ok() : p_.failed(dtype_ != 0 ? "forward_cuda_ex" : "forward_cuda", error);
  }

  PluginParams p_;
  int32_t dtype_ = 0;  // forward_cuda_ex's element type, or 0: forward_cuda (float32)
};

}  // namespace

Status make_plugin(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PluginOp>(init, out); }

}  // namespace trtn::cuda
