// Upsample and Interp (core/resize_params.h) on the host, one task item per output plane.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "backends/cpu/ops/op.h"
#include "core/resize_params.h"

namespace trtn::cpu {
namespace {

class UpsampleOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_upsample_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    const float* mask = p_.unpool ? static_cast<const float*>(args.in[1]) : nullptr;
    float* y = static_cast<float*>(args.out[0]);
    const ResizeParams& p = p_;
    try {
      args.pool.parallel_for(args.batch * p.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t q = begin; q < end; ++q) {
          const float* xq = x + q * p.h * p.w;
          float* yq = y + q * p.ho * p.wo;
          if (mask != nullptr) {
            std::fill(yq, yq + p.ho * p.wo, 0.0f);
            const float* mq = mask + q * p.h * p.w;
            for (int64_t i = 0; i < p.h * p.w; ++i) {
              const float at = mq[i];
              if (at >= 0 && at < static_cast<float>(p.ho * p.wo)) yq[static_cast<int64_t>(at)] = xq[i];
            }
            continue;
          }
          for (int64_t r = 0; r < p.ho; ++r) {
            const float* row = xq + (r * p.h / p.ho) * p.w;
            for (int64_t c = 0; c < p.wo; ++c) yq[r * p.wo + c] = row[c * p.w / p.wo];
          }
        }
      });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Upsample");
    }
    return Status::ok();
  }

 private:
  ResizeParams p_;
};

class InterpOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_interp_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const ResizeParams& p = p_;
    try {
      args.pool.parallel_for(args.batch * p.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t q = begin; q < end; ++q) {
          const float* xq = x + q * p.h * p.w + p.crop * p.w + p.crop;
          float* yq = y + q * p.ho * p.wo;
          for (int64_t r = 0; r < p.ho; ++r) {
            const InterpTap ty = interp_tap(r, p.ho, p.he);
            for (int64_t c = 0; c < p.wo; ++c) {
              const InterpTap tx = interp_tap(c, p.wo, p.we);
              const float* r0 = xq + ty.i0 * p.w;
              const float* r1 = xq + ty.i1 * p.w;
              const float top = (1 - tx.lambda) * r0[tx.i0] + tx.lambda * r0[tx.i1];
              const float bottom = (1 - tx.lambda) * r1[tx.i0] + tx.lambda * r1[tx.i1];
              yq[r * p.wo + c] = (1 - ty.lambda) * top + ty.lambda * bottom;
            }
          }
        }
      });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Interp");
    }
    return Status::ok();
  }

 private:
  ResizeParams p_;
};

}  // namespace

Status make_upsample(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<UpsampleOp>(init, out); }
Status make_interp(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<InterpOp>(init, out); }

}  // namespace trtn::cpu
