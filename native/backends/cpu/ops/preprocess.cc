// Preprocess: uint8 images [H_in, W_in, C] to the network's input [C, H, W] with Caffe's test-phase
// transform (core/preprocess_params.h): centre crop, channel swap, y = (x - mean) * scale in
// float32, and in INT8 engines the input's Quantize, q = saturate(y / s_y). The reference for the
// cuda kernel: one output row (image, channel, row) per work item.
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
#include "core/numeric.h"
#include "core/preprocess_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 64;

class Preprocess final : public CpuOp {
 public:
  Status init(const OpInit& init) {
    name_ = init.node.name;
    return read_preprocess_params(init, &p_);
  }

  Status run(const OpArgs& args) const override {
    try {
      const auto* x = static_cast<const uint8_t*>(args.in[0]);
      const int64_t rows = args.batch * p_.channels * p_.out_h;
      args.pool.parallel_for(rows, kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) row(x, args.out[0], r);
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (Preprocess): out of host memory");
    }
  }

 private:
  /// Output row r = (n * C + c) * H + h.
  void row(const uint8_t* x, void* out, int64_t r) const {
    const int64_t h = r % p_.out_h;
    const int64_t c = (r / p_.out_h) % p_.channels;
    const int64_t n = r / (p_.out_h * p_.channels);
    const int64_t hs = h + p_.h_off;
    const int64_t src_c = p_.swap ? p_.channels - 1 - c : c;
    const uint8_t* src = x + ((n * p_.in_h + hs) * p_.in_w + p_.w_off) * p_.channels + src_c;
    const float* mean = p_.mean_per_pixel ? p_.mean.data() + (c * p_.in_h + hs) * p_.in_w + p_.w_off : nullptr;
    for (int64_t w = 0; w < p_.out_w; ++w) {
      const float m = mean != nullptr ? mean[w] : p_.mean[c];
      const float y = (static_cast<float>(src[w * p_.channels]) - m) * p_.scale;
      if (p_.quantize) {
        // A true division, as the Quantize node it replaces (docs/int8.md).
        static_cast<int8_t*>(out)[r * p_.out_w + w] = numeric::saturate_int8(y / p_.out_scale);
      } else {
        static_cast<float*>(out)[r * p_.out_w + w] = y;
      }
    }
  }

  std::string name_;
  PreprocessParams p_;
};

}  // namespace

Status make_preprocess(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Preprocess>(init, out); }

}  // namespace trtn::cpu
