// Local response normalisation with Caffe's semantics, over NCHW float32 tensors (LRN has no
// INT8 form: docs/int8.md).
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

namespace trtn::cpu {
namespace {

/// Per-image shape and Caffe's float32 parameters.
struct Params {
  int64_t channels = 0, height = 0, width = 0;
  int64_t size = 1;
  float alpha = 0, beta = 0, k = 1;
};

class AcrossChannels final : public CpuOp {
 public:
  AcrossChannels(std::string name, Params p) : name_(std::move(name)), p_(p) {}

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      const int64_t plane = p_.height * p_.width, half = (p_.size - 1) / 2;
      // Caffe computes alpha / size in the layer's type before scaling the squares.
      const float alpha_over_size = p_.alpha / static_cast<float>(p_.size);
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, plane * p_.size));
      args.pool.parallel_for(args.batch * p_.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
          const int64_t n = nc / p_.channels, c = nc % p_.channels;
          const int64_t lo = std::max<int64_t>(0, c - half), hi = std::min(p_.channels - 1, c + half);
          const float* image = x + n * p_.channels * plane;
          for (int64_t i = 0; i < plane; ++i) {
            float sum_sq = 0.0f;
            for (int64_t j = lo; j <= hi; ++j) {
              const float v = image[j * plane + i];
              sum_sq += v * v;
            }
            const float scale = p_.k + alpha_over_size * sum_sq;
            y[nc * plane + i] = x[nc * plane + i] * std::pow(scale, -p_.beta);
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
  Params p_;
};

class WithinChannel final : public CpuOp {
 public:
  WithinChannel(std::string name, Params p) : name_(std::move(name)), p_(p) {}

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      const int64_t plane = p_.height * p_.width, pad = (p_.size - 1) / 2;
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, plane * p_.size * p_.size));
      args.pool.parallel_for(args.batch * p_.channels, grain, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
          const float* xp = x + nc * plane;
          float* yp = y + nc * plane;
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
                  const float v = xp[i * p_.width + j];
                  sum_sq += v * v;
                }
              }
              const float avg = sum_sq / static_cast<float>(pool_size);
              yp[h * p_.width + w] = xp[h * p_.width + w] * std::pow(1.0f + p_.alpha * avg, -p_.beta);
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
  Params p_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_io(1, 1);
  if (!st.is_ok()) return st;
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  if (init.node.precision == Precision::kINT8) return init.error("LRN has no INT8 form (docs/int8.md)");
  int64_t size = 0;
  double alpha = 0, beta = 0, k = 0;
  std::string region;
  if (!(st = init.attr_int("localSize", &size)).is_ok()) return st;
  if (!(st = init.attr_double("alpha", &alpha)).is_ok()) return st;
  if (!(st = init.attr_double("beta", &beta)).is_ok()) return st;
  if (!(st = init.attr_double("k", &k)).is_ok()) return st;
  if (!(st = init.attr_string("region", &region)).is_ok()) return st;
  if (size < 1 || size % 2 == 0) return init.error("localSize must be odd and > 0, got " + std::to_string(size));
  if (region != "ACROSS_CHANNELS" && region != "WITHIN_CHANNEL") {
    return init.error("unknown region '" + region + "' (expected ACROSS_CHANNELS or WITHIN_CHANNEL)");
  }
  const TensorDesc& in = init.input(0);
  if (in.dims.size() != 3) return init.error("needs a 4-D input (N, C, H, W)");
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  Params p;
  p.channels = in.dims[0];
  p.height = in.dims[1];
  p.width = in.dims[2];
  p.size = size;
  // Caffe's LRNParameter holds these as float.
  p.alpha = static_cast<float>(alpha);
  p.beta = static_cast<float>(beta);
  p.k = static_cast<float>(k);
  if (region == "ACROSS_CHANNELS") {
    *out = std::make_unique<AcrossChannels>(init.node.name, p);
  } else {
    *out = std::make_unique<WithinChannel>(init.node.name, p);
  }
  return Status::ok();
}

}  // namespace

Status make_lrn(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  try {
    return create(init, out);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "cpu backend, node '" + init.node.name + "' (LRN): out of host memory");
  }
}

}  // namespace trtn::cpu
