// PriorBox (core/prior_box_params.h): the boxes are computed once when the engine is built; a run
// copies them to every image.
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/prior_box_params.h"

namespace trtn::cpu {
namespace {

class PriorBoxOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_prior_box_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    float* y = static_cast<float*>(args.out[0]);
    const size_t bytes = p_.values.size() * sizeof(float);
    for (int n = 0; n < args.batch; ++n)
      std::memcpy(y + static_cast<size_t>(n) * p_.values.size(), p_.values.data(), bytes);
    return Status::ok();
  }

 private:
  PriorBoxParams p_;
};

}  // namespace

Status make_prior_box(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<PriorBoxOp>(init, out); }

}  // namespace trtn::cpu
