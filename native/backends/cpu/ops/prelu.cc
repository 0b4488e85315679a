// PReLU (Caffe's PReLULayer): y = x > 0 ? x : slope[c] * x, with one learned slope per channel
// (dimension 1 of the full shape) or one slope shared by every channel.
#include <algorithm>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/prelu_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class PReluOp final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    PReluParams p;
    TRTN_TRY(read_prelu_params(init, &p));
    slopes_ = std::move(p.slopes);
    channels_ = p.channels;
    inner_ = p.inner;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const float* slopes = slopes_.data();
    const int64_t channels = channels_, inner = inner_;
    try {
      // One task item is one channel plane of one image, so the slope is fixed inside the loop.
      args.pool.parallel_for(args.batch * channels, std::max<int64_t>(1, kGrain / inner),
                             [=](int64_t begin, int64_t end) {
                               for (int64_t p = begin; p < end; ++p) {
                                 const float s = slopes[p % channels];
                                 const float* xp = x + p * inner;
                                 float* yp = y + p * inner;
                                 for (int64_t i = 0; i < inner; ++i) yp[i] = xp[i] > 0 ? xp[i] : xp[i] * s;
                               }
                             });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running PReLU");
    }
    return Status::ok();
  }

 private:
  std::vector<float> slopes_;  // one per channel (a shared slope is repeated)
  int64_t channels_ = 0;
  int64_t inner_ = 0;  // values per channel plane
};

}  // namespace

Status make_prelu(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<PReluOp>(init, out); }

}  // namespace trtn::cpu
