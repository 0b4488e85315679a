// Plugin layers (core/plugins.h): the library's forward_cpu on the whole batch, float32, on the
// context's thread (the library may use threads of its own).
#include <memory>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/plugins.h"

namespace trtn::cpu {
namespace {

class PluginOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_plugin_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    std::vector<const float*> in(args.in.size());
    std::vector<float*> out(args.out.size());
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<const float*>(args.in[i]);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float*>(args.out[i]);
    if (p_.plugin.hosted) {
      std::string why;
      if (p_.plugin.hosted->forward(p_.params, args.batch, p_.in_dims, in, p_.out_dims, out, &why)) return Status::ok();
      return p_.failed("the JavaScript function", why);
    }
    char error[512] = {0};
    const int32_t rc = p_.plugin.layer->forward_cpu(p_.params.c_str(), args.batch, static_cast<int32_t>(in.size()),
                                                    p_.in_dims.data(), in.data(), static_cast<int32_t>(out.size()),
                                                    p_.out_dims.data(), out.data(), error, sizeof error);
    error[sizeof error - 1] = '\0';
    return rc == 0 ? Status::ok() : p_.failed("forward_cpu", error);
  }

 private:
  PluginParams p_;
};

}  // namespace

Status make_plugin(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<PluginOp>(init, out); }

}  // namespace trtn::cpu
