// Deconvolution on the GPU (Caffe semantics: the gradient of a convolution; core/gemm_node.h
// geometry): any number of spatial axes (1..6), groups, stride, pad, dilation, several bottoms /
// tops sharing the weights, bias and the fused ReLU; fp32, tf32 (activations rounded to TF32 as
// they are read, weights prepared rounded) and fp16 storage (float32 arithmetic). No INT8 form
// (docs/int8.md). Whole kLinear (NCHW...) tensors.
//
// A direct gather kernel, one thread per output element: along each axis the kernel taps that
// reach output position o are k = k0, k0 + s / gcd(s, d), ... (o + pad - k d divisible by the
// stride s), each reading input position (o + pad - k d) / s when inside the input; per tap the
// thread sums over the group's input channels. Deterministic (no atomics), float32 accumulation
// with fma (a GEMM's order differs from the cpu's anyway). Weights are reordered once to
// [C_out][taps][C_in / group] so the inner loop reads them contiguously.
#include <memory>
#include <new>
#include <numeric>
#include <string>
#include <vector>

#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/gemm_node.h"

namespace trtn::cuda {
namespace {

constexpr int kMaxAxes = static_cast<int>(kMaxSpatialAxes);

struct DeconvArgs {
  int cin, cout, cin_g, cout_g;
  int in[kMaxAxes], out[kMaxAxes], kernel[kMaxAxes], stride[kMaxAxes], pad[kMaxAxes], dilation[kMaxAxes];
  int step[kMaxAxes];  // s / gcd(s, d): the period of the taps that reach one output position
  int64_t in_stride[kMaxAxes], tap_stride[kMaxAxes];
  int64_t in_volume, out_volume, taps;
  FastDiv by_out[kMaxAxes], by_cout;
  uint32_t total;
  bool tf32, relu;
  float slope;
};

/// The TF32 value of x (10 mantissa bits, nearest, ties away from zero), as
/// numeric::round_to_tf32 and cvt.rna.tf32.f32 (which Turing lacks) compute it.
__device__ __forceinline__ float tf32(float x) {
  uint32_t u = __float_as_uint(x);
  if ((u & 0x7F800000u) == 0x7F800000u) return x;
  return __uint_as_float((u + 0x1000u) & 0xFFFFE000u);
}

template <typename Tin, typename Tout, int NA>
__global__ void __launch_bounds__(kMapThreads) deconv_kernel(const Tin* x, Tout* y, const float* __restrict__ w,
                                                             const float* __restrict__ bias, const DeconvArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    int o[NA];
    uint32_t rest = t;
#pragma unroll
    for (int i = NA - 1; i >= 0; --i) {
      const uint32_t q = a.by_out[i].div(rest);
      o[i] = static_cast<int>(rest - q * a.by_out[i].d);
      rest = q;
    }
    const uint32_t n = a.by_cout.div(rest);
    const int co = static_cast<int>(rest - n * a.by_cout.d);
    const int g = co / a.cout_g;
    // First tap per axis (-1: none reaches this output position).
    int pos[NA], first[NA], k[NA];
    bool none = false;
#pragma unroll
    for (int i = 0; i < NA; ++i) {
      pos[i] = o[i] + a.pad[i];
      first[i] = -1;
      for (int kk = 0; kk < a.step[i] && kk < a.kernel[i] && pos[i] - kk * a.dilation[i] >= 0; ++kk) {
        if ((pos[i] - kk * a.dilation[i]) % a.stride[i] == 0) {
          first[i] = kk;
          break;
        }
      }
      none = none || first[i] < 0;
      k[i] = first[i];
    }
    float acc = 0.0f;
    if (!none) {
      const Tin* xg = x + (static_cast<int64_t>(n) * a.cin + static_cast<int64_t>(g) * a.cin_g) * a.in_volume;
      const float* wc = w + static_cast<int64_t>(co) * a.taps * a.cin_g;
      while (true) {
        bool inside = true;
        int64_t in_at = 0, tap = 0;
#pragma unroll
        for (int i = 0; i < NA; ++i) {
          const int v = pos[i] - k[i] * a.dilation[i];
          const int at = v / a.stride[i];
          inside = inside && at < a.in[i];
          in_at += at * a.in_stride[i];
          tap += k[i] * a.tap_stride[i];
        }
        if (inside) {
          const Tin* xp = xg + in_at;
          const float* wp = wc + tap * a.cin_g;
          for (int ci = 0; ci < a.cin_g; ++ci) {
            float xv = to_float(xp[ci * a.in_volume]);
            if (a.tf32) xv = tf32(xv);
            acc = fmaf(xv, __ldg(wp + ci), acc);
          }
        }
        // Next tap: the last axis fastest; an axis restarts at its first tap when it runs out.
        bool carry = true;
#pragma unroll
        for (int i = NA - 1; i >= 0; --i) {
          if (carry) {
            k[i] += a.step[i];
            if (k[i] < a.kernel[i] && pos[i] - k[i] * a.dilation[i] >= 0) {
              carry = false;
            } else {
              k[i] = first[i];
            }
          }
        }
        if (carry) break;
      }
    }
    float v = acc + __ldg(bias + co);
    if (a.relu) v = v > 0.0f ? v : v * a.slope;
    y[t] = from_float<Tout>(v);
  }
}

class DeconvOp final : public CudaOp {
 public:
  DeconvOp() = default;
  /// Reads and checks the node (make<DeconvOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    for (size_t pair = 0; pair < args.in.size() && pair < args.out.size(); ++pair) {
      const View4& x = args.in[pair];
      const View4& y = args.out[pair];
      Status st = dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
        using Tin = decltype(tin);
        using Tout = decltype(tout);
        switch (axes_) {
          case 1: return launch<Tin, Tout, 1>(x, y, args);
          case 2: return launch<Tin, Tout, 2>(x, y, args);
          case 3: return launch<Tin, Tout, 3>(x, y, args);
          case 4: return launch<Tin, Tout, 4>(x, y, args);
          case 5: return launch<Tin, Tout, 5>(x, y, args);
          case 6: return launch<Tin, Tout, 6>(x, y, args);
        }
        return run_error(name_, "Deconvolution", "unsupported number of spatial axes");
      });
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  }

 private:
  template <typename Tin, typename Tout, int NA>
  Status launch(const View4& x, const View4& y, const RunArgs& args) const {
    const int64_t in_image = static_cast<int64_t>(a_.cin) * a_.in_volume;
    const int64_t out_image = static_cast<int64_t>(a_.cout) * a_.out_volume;
    return for_batch_chunks(args.batch, out_image, [&](int n0, int nb) -> Status {
      DeconvArgs a = a_;
      a.total = static_cast<uint32_t>(nb * out_image);
      deconv_kernel<Tin, Tout, NA><<<grid_for(a.total, kMapThreads), kMapThreads, 0, args.stream>>>(
          static_cast<const Tin*>(x.data) + n0 * in_image, static_cast<Tout*>(y.data) + n0 * out_image,
          weights_.as<float>(), bias_.as<float>(), a);
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

  std::string name_;
  int axes_ = 0;  // spatial axes, 1..6
  DeconvArgs a_;
  DeviceBuffer weights_;  // [C_out][taps][C_in / group]
  DeviceBuffer bias_;     // [C_out]
};

Status DeconvOp::init(const CudaOpInit& init) {
  const OpInit& node = init.node;
  if (node.node.precision == Precision::kINT8) return node.error("has no INT8 form (docs/int8.md): run it in fp32");
  ConvGeometry geo;
  Status st = read_conv_geometry(node, true, &geo);
  if (!st.is_ok()) return st;
  if (!(st = check_gemm_dtypes(node)).is_ok()) return st;
  const int64_t cin_g = geo.channels_in / geo.group, cout_g = geo.channels_out / geo.group;
  std::vector<int64_t> wdims{geo.channels_in, cout_g};
  wdims.insert(wdims.end(), geo.kernel.begin(), geo.kernel.end());
  const Blob *w = nullptr, *bias = nullptr, *wscale = nullptr;
  if (!(st = find_gemm_blobs(node, wdims, geo.channels_out, &w, &bias, &wscale)).is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;

  const int axes = static_cast<int>(geo.in.size());
  if (axes < 1 || axes > kMaxAxes) return node.error("unsupported number of spatial axes");
  const int64_t limit = int64_t{1} << 30;
  if (geo.in_volume >= limit || geo.out_volume >= limit || geo.kernel_volume >= limit ||
      geo.channels_in * geo.in_volume >= kMaxLaunchItems || geo.channels_out * geo.out_volume >= kMaxLaunchItems) {
    return node.error("is beyond the cuda kernels' 2^31 index range");
  }
  DeconvArgs a{};
  a.cin = static_cast<int>(geo.channels_in);
  a.cout = static_cast<int>(geo.channels_out);
  a.cin_g = static_cast<int>(cin_g);
  a.cout_g = static_cast<int>(cout_g);
  int64_t in_stride = 1, tap_stride = 1;
  for (int i = axes - 1; i >= 0; --i) {
    a.in[i] = static_cast<int>(geo.in[i]);
    a.out[i] = static_cast<int>(geo.out[i]);
    a.kernel[i] = static_cast<int>(geo.kernel[i]);
    a.stride[i] = static_cast<int>(geo.stride[i]);
    a.pad[i] = static_cast<int>(geo.pad[i]);
    a.dilation[i] = static_cast<int>(geo.dilation[i]);
    a.step[i] = static_cast<int>(geo.stride[i] / std::gcd(geo.stride[i], geo.dilation[i]));
    a.in_stride[i] = in_stride;
    a.tap_stride[i] = tap_stride;
    a.by_out[i] = FastDiv(static_cast<uint32_t>(geo.out[i]));
    in_stride *= geo.in[i];
    tap_stride *= geo.kernel[i];
  }
  a.in_volume = geo.in_volume;
  a.out_volume = geo.out_volume;
  a.taps = geo.kernel_volume;
  a.by_cout = FastDiv(static_cast<uint32_t>(geo.channels_out));
  a.tf32 = node.node.precision == Precision::kTF32;
  a.relu = node.node.activation.relu;
  a.slope = node.node.activation.negative_slope;

  // W[g * cin_g + ci][co_g][tap] -> W'[g * cout_g + co_g][tap][ci].
  std::vector<float> reordered(w->f32.size());
  const int64_t taps = geo.kernel_volume;
  for (int64_t g = 0; g < geo.group; ++g) {
    for (int64_t ci = 0; ci < cin_g; ++ci) {
      for (int64_t co = 0; co < cout_g; ++co) {
        const float* src = w->f32.data() + ((g * cin_g + ci) * cout_g + co) * taps;
        float* dst = reordered.data() + (g * cout_g + co) * taps * cin_g + ci;
        for (int64_t tap = 0; tap < taps; ++tap) dst[tap * cin_g] = src[tap];
      }
    }
  }
  DeviceBuffer weights, bias_buffer;
  const std::string what = "the weights of Deconvolution '" + node.node.name + "'";
  if (!(st = weights.upload(reordered, what)).is_ok()) return st;
  if (!(st = bias_buffer.upload(bias->f32, what)).is_ok()) return st;
  name_ = node.node.name;
  axes_ = axes;
  a_ = a;
  weights_ = std::move(weights);
  bias_ = std::move(bias_buffer);
  return Status::ok();
}

}  // namespace

Status make_deconvolution(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<DeconvOp>(init, out); }

}  // namespace trtn::cuda
