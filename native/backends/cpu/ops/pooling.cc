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

namespace trtn::cpu {
namespace {

enum class Method { kMax, kAve, kStochastic };

/// Per-image geometry of one pooling node.
struct Geometry {
  int64_t channels = 0, height = 0, width = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

/// One pooling window along one axis, as Caffe computes it: `size` is the window clipped to the
/// padded input (the AVE divisor), [begin, end) the part inside the input (possibly empty in
/// Caffe's unpadded ceil-mode edge case, where the last window may start past the input).
struct Span {
  int64_t begin, end, size;
};

Span window(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t extent) {
  const int64_t start = o * stride - pad;
  const int64_t padded_end = std::min(start + kernel, extent + pad);
  return Span{std::max<int64_t>(start, 0), std::min(padded_end, extent), padded_end - start};
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/// Caffe's pooled size along one axis (PoolingLayer::Reshape).
int64_t pooled_size(int64_t extent, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode, bool padded) {
  const int64_t span = extent + 2 * pad - kernel;
  int64_t out = (ceil_mode ? ceil_div(span, stride) : floor_div(span, stride)) + 1;
  // With padding, a last window that would start in the padding is dropped.
  if (padded && (out - 1) * stride >= extent + pad) --out;
  return out;
}

Status out_of_memory(const std::string& node) {
  return Status(Code::kOutOfMemory, "cpu backend, node '" + node + "' (Pooling): out of host memory");
}

/// Work items are (image, channel) planes; aim for chunks of at least ~64K window reads.
int64_t plane_grain(const Geometry& g) {
  const int64_t per_plane = std::max<int64_t>(1, g.out_h * g.out_w * g.kernel_h * g.kernel_w);
  return std::max<int64_t>(1, (int64_t{1} << 16) / per_plane);
}

class FloatPooling final : public CpuOp {
 public:
  FloatPooling(std::string name, Method method, Geometry g, bool mask)
      : name_(std::move(name)), method_(method), g_(g), mask_(mask) {}

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
      const Span hs = window(oh, g_.stride_h, g_.pad_h, g_.kernel_h, g_.height);
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        const Span ws = window(ow, g_.stride_w, g_.pad_w, g_.kernel_w, g_.width);
        const int64_t o = oh * g_.out_w + ow;
        if (method_ == Method::kMax) {
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
        } else if (method_ == Method::kAve) {
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
  Method method_;
  Geometry g_;
  bool mask_;
};

/// INT8 MAX and AVE (docs/int8.md): int8 input, int8 output with the input's scale or float32.
class Int8Pooling final : public CpuOp {
 public:
  Int8Pooling(std::string name, Method method, Geometry g, bool mask, bool float_out, float scale)
      : name_(std::move(name)), method_(method), g_(g), mask_(mask), float_out_(float_out), scale_(scale) {}

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
      const Span hs = window(oh, g_.stride_h, g_.pad_h, g_.kernel_h, g_.height);
      for (int64_t ow = 0; ow < g_.out_w; ++ow) {
        const Span ws = window(ow, g_.stride_w, g_.pad_w, g_.kernel_w, g_.width);
        const int64_t o = oh * g_.out_w + ow;
        if (method_ == Method::kMax) {
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
  Method method_;
  Geometry g_;
  bool mask_;
  bool float_out_;
  float scale_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  const size_t outputs = init.node.outputs.size();
  if (init.node.inputs.size() != 1 || outputs < 1 || outputs > 2) {
    return init.error("expects 1 input and 1 or 2 outputs (the second is the MAX argmax mask)");
  }
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  std::string method_name, round_mode;
  std::vector<int64_t> kernel, stride, pad;
  bool global = false;
  Status st;
  if (!(st = init.attr_string("method", &method_name)).is_ok()) return st;
  if (!(st = init.attr_ints("kernel", &kernel)).is_ok()) return st;
  if (!(st = init.attr_ints("stride", &stride)).is_ok()) return st;
  if (!(st = init.attr_ints("pad", &pad)).is_ok()) return st;
  if (!(st = init.attr_bool("global", &global)).is_ok()) return st;
  if (!(st = init.attr_string("roundMode", &round_mode)).is_ok()) return st;

  Method method;
  if (method_name == "MAX") method = Method::kMax;
  else if (method_name == "AVE") method = Method::kAve;
  else if (method_name == "STOCHASTIC") method = Method::kStochastic;
  else return init.error("unknown pooling method '" + method_name + "' (expected MAX, AVE or STOCHASTIC)");
  if (round_mode != "CEIL" && round_mode != "FLOOR") {
    return init.error("unknown roundMode '" + round_mode + "' (expected CEIL or FLOOR)");
  }
  if (kernel.size() != 2 || stride.size() != 2 || pad.size() != 2) {
    return init.error("kernel, stride and pad need one value per spatial axis (2)");
  }
  const TensorDesc& in = init.input(0);
  if (in.dims.size() != 3) return init.error("needs a 4-D input (N, C, H, W)");

  Geometry g;
  g.channels = in.dims[0];
  g.height = in.dims[1];
  g.width = in.dims[2];
  if (global) {
    // Global pooling takes the whole plane, whatever kernel the attributes carry.
    kernel = {g.height, g.width};
    if (pad[0] != 0 || pad[1] != 0 || stride[0] != 1 || stride[1] != 1) {
      return init.error("global pooling needs pad 0 and stride 1");
    }
  }
  g.kernel_h = kernel[0];
  g.kernel_w = kernel[1];
  g.stride_h = stride[0];
  g.stride_w = stride[1];
  g.pad_h = pad[0];
  g.pad_w = pad[1];
  if (g.kernel_h < 1 || g.kernel_w < 1) return init.error("kernel must be > 0");
  if (g.stride_h < 1 || g.stride_w < 1) return init.error("stride must be > 0");
  if (g.pad_h < 0 || g.pad_w < 0 || g.pad_h >= g.kernel_h || g.pad_w >= g.kernel_w) {
    return init.error("pad must be >= 0 and smaller than the kernel");
  }
  if (method == Method::kStochastic && (g.pad_h != 0 || g.pad_w != 0)) {
    return init.error("STOCHASTIC pooling takes no padding");
  }
  const bool ceil_mode = round_mode == "CEIL";
  const bool padded = g.pad_h > 0 || g.pad_w > 0;
  g.out_h = pooled_size(g.height, g.kernel_h, g.stride_h, g.pad_h, ceil_mode, padded);
  g.out_w = pooled_size(g.width, g.kernel_w, g.stride_w, g.pad_w, ceil_mode, padded);
  if (g.out_h < 1 || g.out_w < 1) return init.error("the input is smaller than the kernel");
  const std::vector<int64_t> want = {g.channels, g.out_h, g.out_w};
  for (size_t i = 0; i < outputs; ++i) {
    if (init.output(i).dims != want) {
      return init.error("output '" + init.output(i).name + "' does not have Caffe's pooled shape [" +
                        std::to_string(g.channels) + ", " + std::to_string(g.out_h) + ", " + std::to_string(g.out_w) +
                        "]");
    }
  }
  const bool mask = outputs == 2;
  if (mask && method != Method::kMax) return init.error("only MAX pooling has a second output (the argmax mask)");
  if (mask && init.output(1).dtype != DType::kFloat32) return init.error("the argmax mask must be float32");

  if (init.node.precision == Precision::kINT8) {
    if (method == Method::kStochastic) return init.error("STOCHASTIC pooling has no INT8 form");
    if (in.dtype != DType::kInt8) return init.error("an INT8 node needs an int8 input");
    const TensorDesc& y = init.output(0);
    if (y.dtype == DType::kInt8 && y.scale != in.scale) {
      return init.error("an INT8 pooling output keeps its input's scale (" + std::to_string(in.scale) + "), not " +
                        std::to_string(y.scale));
    }
    *out = std::make_unique<Int8Pooling>(init.node.name, method, g, mask, y.dtype == DType::kFloat32, in.scale);
    return Status::ok();
  }
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("a " + std::string(precision_name(init.node.precision)) + " node needs float32 tensors");
  }
  *out = std::make_unique<FloatPooling>(init.node.name, method, g, mask);
  return Status::ok();
}

}  // namespace

Status make_pooling(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  try {
    return create(init, out);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "cpu backend, node '" + init.node.name + "' (Pooling): out of host memory");
  }
}

}  // namespace trtn::cpu
