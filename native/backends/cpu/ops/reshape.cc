// Flatten and Reshape: the same elements in the same order under new dims, so a copy. INT8
// (docs/int8.md): the int8 values pass unchanged (the output keeps the input's scale), or are
// dequantized, y = float(q) * s_x, when a float node reads the output.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
#include "core/reshape_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = int64_t{1} << 16;

class Reshape final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    ReshapeParams p;
    TRTN_TRY(read_reshape_params(init, &p));
    name_ = init.node.name;
    op_ = init.node.op;
    mode_ = p.mode;
    volume_ = p.volume;
    scale_ = p.scale;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    try {
      args.pool.parallel_for(args.batch * volume_, kGrain, [&](int64_t begin, int64_t end) {
        const size_t n = static_cast<size_t>(end - begin);
        switch (mode_) {
          case ReshapeMode::kCopyFloat:
            std::memcpy(static_cast<float*>(args.out[0]) + begin, static_cast<const float*>(args.in[0]) + begin,
                        n * sizeof(float));
            break;
          case ReshapeMode::kCopyInt8:
            std::memcpy(static_cast<int8_t*>(args.out[0]) + begin, static_cast<const int8_t*>(args.in[0]) + begin, n);
            break;
          case ReshapeMode::kDequantize: {
            const int8_t* q = static_cast<const int8_t*>(args.in[0]);
            float* y = static_cast<float*>(args.out[0]);
            for (int64_t i = begin; i < end; ++i) y[i] = static_cast<float>(q[i]) * scale_;
            break;
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (" + op_ + "): out of host memory");
    }
  }

 private:
  std::string name_, op_;
  ReshapeMode mode_{};
  int64_t volume_ = 0;
  float scale_ = 0;
};

}  // namespace

Status make_reshape(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Reshape>(init, out); }

}  // namespace trtn::cpu
