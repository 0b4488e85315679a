// Pooling with Caffe's semantics: MAX (optionally with the argmax mask as a second output), AVE
// and STOCHASTIC (its TEST-phase form), over H and W of NCHW tensors; INT8 MAX and AVE as
// docs/int8.md defines them.
#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/numeric.h"
#include "core/pooling_params.h"

namespace trtn::cpu {
namespace {

Status out_of_memory(const std::string& node) {
  return Status(Code::kOutOfMemory, "cpu backend, node '" + node + "' (Pooling): out of host memory");
}

/// Work items are (image, channel) planes; aim for chunks of at least ~64K window reads.
int64_t plane_grain(const PoolingParams& g) {
  const int64_t per_plane = std::max<int64_t>(1, g.out_h * g.out_w * g.kernel_h * g.kernel_w);
  return std::max<int64_t>(1, (int64_t{1} << 16) / per_plane);
}

class FloatPooling final : public CpuOp {
 public:
  FloatPooling(std::string name, const PoolingParams& g)
      : name_(std::move(name)), method_(g.method), g_(g), mask_(g.mask) {}

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      float* mask = mask_ ? static_cast<float*>(args.out[1]) : nullptr;
      const int64_t in_plane = g_.height * g_.width, out_plane = g_.out_h * g_.out_w;
      args.pool.parallel_for(args.batch * g_.channels, plane_grain(g_), [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          plane(x + p * in_plane, y + p * out_plane, mask == nullptr ? nullptr : mask + p * out_plane);
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_);
    }
  }

 private:
  void plane(const float* x, float* y, float* mask) const {
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      const PoolSpan hs = pool_window(oh, g_.stride_h, g_.pad_h, g_.kernel_h, g_.height);
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        const PoolSpan ws = pool_window(ow, g_.stride_w, g_.pad_w, g_.kernel_w, g_.width);
        const int64_t o = oh * g_.out_w + ow;
        if (method_ == PoolMethod::kMax) {
          // Caffe starts from -FLT_MAX with mask -1 and keeps the first strict maximum.
          float best = -FLT_MAX;
          int64_t arg = -1;
          for (int64_t h = hs.begin; h < hs.end; ++h) {
            for (int64_t w = ws.begin; w < ws.end; ++w) {
              const float v = x[h * g_.width + w];
              if (v > best) {
                best = v;
                arg = h * g_.width + w;
              }
            }
          }
          y[o] = best;
          if (mask != nullptr) mask[o] = static_cast<float>(arg);
        } else if (method_ == PoolMethod::kAve) {
          float sum = 0.0f;
          for (int64_t h = hs.begin; h < hs.end; ++h) {
            for (int64_t w = ws.begin; w < ws.end; ++w) sum += x[h * g_.width + w];
          }
          // Caffe divides by the window clipped to the padded input, so padding counts as zeros.
          // An empty window only occurs unpadded, past the input's end: it averages nothing.
          const int64_t n = hs.size * ws.size;
          y[o] = hs.begin < hs.end && ws.begin < ws.end ? sum / static_cast<float>(n) : 0.0f;
        } else {
          // TEST-phase stochastic pooling: the activations weighted by themselves.
          float sum = 0.0f, sum_sq = 0.0f;
          for (int64_t h = hs.begin; h < hs.end; ++h) {
            for (int64_t w = ws.begin; w < ws.end; ++w) {
              const float v = x[h * g_.width + w];
              sum += v;
              sum_sq += v * v;
            }
          }
          y[o] = sum == 0.0f ? 0.0f : sum_sq / sum;
        }
      }
    }
  }

  std::string name_;
  PoolMethod method_;
  PoolingParams g_;
  bool mask_;
};

/// INT8 MAX and AVE (docs/int8.md): int8 input, int8 output with the input's scale or float32.
class Int8Pooling final : public CpuOp {
 public:
  Int8Pooling(std::string name, const PoolingParams& g)
      : name_(std::move(name)), method_(g.method), g_(g), mask_(g.mask), float_out_(g.float_out), scale_(g.scale) {}

  Status run(const OpArgs& args) const override {
    try {
      const int8_t* x = static_cast<const int8_t*>(args.in[0]);
      float* mask = mask_ ? static_cast<float*>(args.out[1]) : nullptr;
      const int64_t in_plane = g_.height * g_.width, out_plane = g_.out_h * g_.out_w;
      args.pool.parallel_for(args.batch * g_.channels, plane_grain(g_), [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          plane(x + p * in_plane, args.out[0], p * out_plane, mask == nullptr ? nullptr : mask + p * out_plane);
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_);
    }
  }

 private:
  void plane(const int8_t* x, void* out, int64_t offset, float* mask) const {
    int8_t* yq = float_out_ ? nullptr : static_cast<int8_t*>(out) + offset;
    float* yf = float_out_ ? static_cast<float*>(out) + offset : nullptr;
    for (int64_t oh = 0; oh < g_.out_h; ++oh) {
      const PoolSpan hs = pool_window(oh, g_.stride_h, g_.pad_h, g_.kernel_h, g_.height);
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        const PoolSpan ws = pool_window(ow, g_.stride_w, g_.pad_w, g_.kernel_w, g_.width);
        const int64_t o = oh * g_.out_w + ow;
        if (method_ == PoolMethod::kMax) {
          // -127 is the lowest value an int8 tensor holds; it also stands for Caffe's -FLT_MAX in
          // an empty (unpadded, past-the-end) window.
          int best = -127;
          int64_t arg = -1;
          for (int64_t h = hs.begin; h < hs.end; ++h) {
            for (int64_t w = ws.begin; w < ws.end; ++w) {
              const int v = x[h * g_.width + w];
              if (arg < 0 || v > best) {
                best = v;
                arg = h * g_.width + w;
              }
            }
          }
          if (float_out_) {
            yf[o] = static_cast<float>(best) * scale_;
          } else {
            yq[o] = static_cast<int8_t>(best);
          }
          if (mask != nullptr) mask[o] = static_cast<float>(arg);
        } else {
          int32_t sum = 0;
          for (int64_t h = hs.begin; h < hs.end; ++h) {
            for (int64_t w = ws.begin; w < ws.end; ++w) sum += x[h * g_.width + w];
          }
          const int64_t n = hs.size * ws.size;
          const float v =
              hs.begin < hs.end && ws.begin < ws.end ? static_cast<float>(sum) / static_cast<float>(n) : 0.0f;
          if (float_out_) {
            yf[o] = v * scale_;
          } else {
            yq[o] = numeric::saturate_int8(v);
          }
        }
      }
    }
  }

  std::string name_;
  PoolMethod method_;
  PoolingParams g_;
  bool mask_;
  bool float_out_;
  float scale_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  PoolingParams g;
  TRTN_TRY(read_pooling_params(init, &g));
  if (g.int8) {
    *out = std::make_unique<Int8Pooling>(init.node.name, g);
  } else {
    *out = std::make_unique<FloatPooling>(init.node.name, g);
  }
  return Status::ok();
}

}  // namespace

Status make_pooling(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return guard_host_memory(init, [&] { return create(init, out); });
}

}  // namespace trtn::cpu
