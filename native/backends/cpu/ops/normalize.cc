// Normalize (core/normalize_params.h): sums of squares in double per image (across_spatial) or per
// position over the channels, then x / sqrt(sum + eps) * scale[c] in float.
#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/normalize_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class NormalizeOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_normalize_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const NormalizeParams& p = p_;
    const int64_t image = p.channels * p.plane;
    try {
      if (p.across_spatial) {
        args.pool.parallel_for(args.batch, 1, [&](int64_t begin, int64_t end) {
          for (int64_t n = begin; n < end; ++n) {
            const float* xn = x + n * image;
            double sum = 0;
            for (int64_t i = 0; i < image; ++i) sum += static_cast<double>(xn[i]) * xn[i];
            const float inv = 1.0f / std::sqrt(static_cast<float>(sum) + p.eps);
            for (int64_t c = 0; c < p.channels; ++c) {
              const float k = inv * p.scale[static_cast<size_t>(c)];
              for (int64_t i = c * p.plane; i < (c + 1) * p.plane; ++i) y[n * image + i] = xn[i] * k;
            }
          }
        });
      } else {
        // One task item is one position of one image.
        args.pool.parallel_for(args.batch * p.plane, std::max<int64_t>(1, kGrain / p.channels),
                               [&](int64_t begin, int64_t end) {
                                 for (int64_t t = begin; t < end; ++t) {
                                   const int64_t n = t / p.plane, q = t % p.plane;
                                   const float* xq = x + n * image + q;
                                   double sum = 0;
                                   for (int64_t c = 0; c < p.channels; ++c)
                                     sum += static_cast<double>(xq[c * p.plane]) * xq[c * p.plane];
                                   const float inv = 1.0f / std::sqrt(static_cast<float>(sum) + p.eps);
                                   float* yq = y + n * image + q;
                                   for (int64_t c = 0; c < p.channels; ++c) {
                                     yq[c * p.plane] = xq[c * p.plane] * inv * p.scale[static_cast<size_t>(c)];
                                   }
                                 }
                               });
      }
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Normalize");
    }
    return Status::ok();
  }

 private:
  NormalizeParams p_;
};

}  // namespace

Status make_normalize(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<NormalizeOp>(init, out); }

}  // namespace trtn::cpu
