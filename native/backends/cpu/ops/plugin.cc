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
  Status init(const OpInit& init) {
    TRTN_TRY(read_plugin_params(init, &p_));
    if (p_.plugin.layer->forward_cpu == nullptr && !p_.plugin.hosted) {
      return Status(Code::kUnsupportedLayer, "node '" + init.node.name + "': plugin layer type '" +
                                                 p_.plugin.layer->type + "' of " + p_.plugin.library +
                                                 " has no forward_cpu: build it on a backend the library implements");
    }
    node_ = init.node.name;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    std::vector<const float*> in(args.in.size());
    std::vector<float*> out(args.out.size());
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<const float*>(args.in[i]);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float*>(args.out[i]);
    if (p_.plugin.hosted) {
      std::string why;
      if (p_.plugin.hosted->forward(p_.params, args.batch, p_.in_dims, in, p_.out_dims, out, &why)) return Status::ok();
      return Status(Code::kPlugin, "node '" + node_ + "' (JavaScript layer '" + p_.plugin.layer->type + "'): " + why);
    }
    char error[512] = {0};
    const int32_t rc = p_.plugin.layer->forward_cpu(p_.params.c_str(), args.batch, static_cast<int32_t>(in.size()),
                                                    p_.in_dims.data(), in.data(), static_cast<int32_t>(out.size()),
                                                    p_.out_dims.data(), out.data(), error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (rc == 0) return Status::ok();
    return Status(Code::kPlugin, "node '" + node_ + "' (plugin layer '" + p_.plugin.layer->type + "' of " +
                                     p_.plugin.library + "): forward_cpu failed" +
                                     (error[0] != '\0' ? std::string(": ") + error : std::string()));
  }

 private:
  PluginParams p_;
  std::string node_;
};

}  // namespace

Status make_plugin(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<PluginOp>(init, out); }

}  // namespace trtn::cpu
