// Quantize: float32 to int8 with the output tensor's scale (docs/int8.md),
// q = saturate(x / s_y) with a float32 division (round half to even, clamp to [-127, 127], NaN
// to 0). The planner inserts one per float tensor that INT8 nodes read.
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
#include "core/numeric.h"
#include "core/quantize_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = int64_t{1} << 15;

class Quantize final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    QuantizeParams p;
    TRTN_TRY(read_quantize_params(init, &p));
    name_ = init.node.name;
    volume_ = p.volume;
    scale_ = p.scale;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      int8_t* q = static_cast<int8_t*>(args.out[0]);
      args.pool.parallel_for(args.batch * volume_, kGrain, [&](int64_t begin, int64_t end) {
        // A true division: x * (1 / s) would round differently.
        for (int64_t i = begin; i < end; ++i) q[i] = numeric::saturate_int8(x[i] / scale_);
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (Quantize): out of host memory");
    }
  }

 private:
  std::string name_;
  int64_t volume_ = 0;
  float scale_ = 0;
};

}  // namespace

Status make_quantize(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Quantize>(init, out); }

}  // namespace trtn::cpu
