// Local response normalisation with Caffe's semantics, over NCHW tensors: float32, or in INT8
// (docs/int8.md) an int8 input and an int8 or float32 output, the arithmetic in float32 either
// way: ACROSS_CHANNELS sums the integer squares exactly (core/lrn_params.h's LrnInt8);
// WITHIN_CHANNEL reads x = float(q) * s_x and stores saturate(y / s_y).
//   ACROSS_CHANNELS: scale = k + alpha / size * sum of x^2 over `size` channels centred on c
//                    (zero-padded at the ends); y = x * scale^-beta.
//   WITHIN_CHANNEL:  Caffe builds it from sub-layers: AVE pooling of x^2 over a size x size window
//                    with pad (size - 1) / 2 (dividing by the pool size, padding included), then a
//                    Power layer (1 + alpha * avg)^-beta, then a product with x. Caffe's Power
//                    layer there has shift 1, so `k` plays no part in this region.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
#include "core/lrn_params.h"
#include "core/numeric.h"

namespace trtn::cpu {
namespace {

/// Element access for the float32 and the INT8 forms.
struct LrnIo {
  const void* x;
  void* y;
  float in_scale, out_scale;  // 0: float32 tensor
  float in(int64_t i) const {
    return in_scale > 0 ? static_cast<float>(static_cast<const int8_t*>(x)[i]) * in_scale
                        : static_cast<const float*>(x)[i];
  }
  void out(int64_t i, float v) const {
    if (out_scale > 0) {
      static_cast<int8_t*>(y)[i] = numeric::saturate_int8(v / out_scale);
    } else {
      static_cast<float*>(y)[i] = v;
    }
  }
};

class AcrossChannels final : public CpuOp {
 public:
  AcrossChannels(std::string name, LrnParams p) : name_(std::move(name)), p_(p), q8_(lrn_int8(p)) {}

  Status run(const OpArgs& args) const override {
    try {
      const LrnIo io{args.in[0], args.out[0], p_.in_scale, p_.out_scale};
      const int64_t plane = p_.height * p_.width, half = (p_.size - 1) / 2;
      // Caffe computes alpha / size in the layer's type before scaling the squares.
      const float alpha_over_size = p_.alpha / static_cast<float>(p_.size);
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, plane * p_.size));
      args.pool.parallel_for(args.batch * p_.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
          const int64_t n = nc / p_.channels, c = nc % p_.channels;
          const int64_t lo = std::max<int64_t>(0, c - half), hi = std::min(p_.channels - 1, c + half);
          const int64_t image = n * p_.channels * plane;
          if (p_.in_scale > 0) {
            for (int64_t i = 0; i < plane; ++i) {
              int8_at(static_cast<const int8_t*>(io.x) + image + i, plane, lo, hi, c, io, nc * plane + i);
            }
            continue;
          }
          for (int64_t i = 0; i < plane; ++i) {
            float sum_sq = 0.0f;
            for (int64_t j = lo; j <= hi; ++j) {
              const float v = io.in(image + j * plane + i);
              sum_sq += v * v;
            }
            const float scale = p_.k + alpha_over_size * sum_sq;
            io.out(nc * plane + i, io.in(nc * plane + i) * std::pow(scale, -p_.beta));
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (LRN): out of host memory");
    }
  }

 private:
  /// INT8 input (docs/int8.md, LrnInt8): channel c of the pixel at `x` (channel stride `plane`)
  /// from the exact integer sum of the squares of channels [lo, hi], stored at `at`.
  void int8_at(const int8_t* x, int64_t plane, int64_t lo, int64_t hi, int64_t c, const LrnIo& io, int64_t at) const {
    int64_t sum_sq = 0;  // exact for any window; its float conversion rounds to nearest
    for (int64_t j = lo; j <= hi; ++j) sum_sq += int64_t{x[j * plane]} * x[j * plane];
    const float scale = p_.k + q8_.sq_scale * static_cast<float>(sum_sq);
    const float f = std::pow(scale, -p_.beta);
    const auto q = static_cast<float>(x[c * plane]);
    if (p_.out_scale > 0) {
      static_cast<int8_t*>(io.y)[at] = numeric::saturate_int8(q * q8_.out_factor * f);
    } else {
      static_cast<float*>(io.y)[at] = q * p_.in_scale * f;
    }
  }

  std::string name_;
  LrnParams p_;
  LrnInt8 q8_;  // lrn_int8(p_)
};

class WithinChannel final : public CpuOp {
 public:
  WithinChannel(std::string name, LrnParams p) : name_(std::move(name)), p_(p) {}

  Status run(const OpArgs& args) const override {
    try {
      const LrnIo io{args.in[0], args.out[0], p_.in_scale, p_.out_scale};
      const int64_t plane = p_.height * p_.width, pad = (p_.size - 1) / 2;
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, plane * p_.size * p_.size));
      args.pool.parallel_for(args.batch * p_.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
          const int64_t base = nc * plane;
          for (int64_t h = 0; h < p_.height; ++h) {
            // Caffe's AVE pooling window (stride 1): clipped to the padded input for the divisor,
            // to the input for the sum. With an odd size and pad (size - 1) / 2 the divisor is
            // always size^2, but the rule is kept as Caffe's pooling states it.
            const int64_t h0 = h - pad, h1 = std::min(h0 + p_.size, p_.height + pad);
            for (int64_t w = 0; w < p_.width; ++w) {
              const int64_t w0 = w - pad, w1 = std::min(w0 + p_.size, p_.width + pad);
              const int64_t pool_size = (h1 - h0) * (w1 - w0);
              float sum_sq = 0.0f;
              for (int64_t i = std::max<int64_t>(h0, 0); i < std::min(h1, p_.height); ++i) {
                for (int64_t j = std::max<int64_t>(w0, 0); j < std::min(w1, p_.width); ++j) {
                  const float v = io.in(base + i * p_.width + j);
                  sum_sq += v * v;
                }
              }
              const float avg = sum_sq / static_cast<float>(pool_size);
              const int64_t at = base + h * p_.width + w;
              io.out(at, io.in(at)*std::pow(1.0f + p_.alpha * avg, -p_.beta));
            }
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (LRN): out of host memory");
    }
  }

 private:
  std::string name_;
  LrnParams p_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  LrnParams p;
  TRTN_TRY(read_lrn_params(init, &p));
  if (p.across_channels) {
    *out = std::make_unique<AcrossChannels>(init.node.name, p);
  } else {
    *out = std::make_unique<WithinChannel>(init.node.name, p);
  }
  return Status::ok();
}

}  // namespace

Status make_lrn(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return guard_host_memory(init, [&] { return create(init, out); });
}

}  // namespace trtn::cpu
