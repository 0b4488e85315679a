// ShuffleChannel (core/shuffle_channel_params.h): each output channel is one input channel's plane,
// copied whole.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "backends/cpu/ops/op.h"
#include "core/shuffle_channel_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class ShuffleChannelOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_shuffle_channel_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const ShuffleChannelParams p = p_;
    const int64_t channels = p.group * p.per_group;
    try {
      // One task item is one output plane.
      args.pool.parallel_for(args.batch * channels, std::max<int64_t>(1, kGrain / p.plane),
                             [=](int64_t begin, int64_t end) {
                               for (int64_t b = begin; b < end; ++b) {
                                 const int64_t n = b / channels, c = b % channels;
                                 const float* from = x + (n * channels + shuffled_source(p, c)) * p.plane;
                                 std::memcpy(y + b * p.plane, from, static_cast<size_t>(p.plane) * sizeof(float));
                               }
                             });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running ShuffleChannel");
    }
    return Status::ok();
  }

 private:
  ShuffleChannelParams p_;
};

}  // namespace

Status make_shuffle_channel(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return make<ShuffleChannelOp>(init, out);
}

}  // namespace trtn::cpu
