// Direct convolution: one thread per output element, summing over the group's input channels and
// the kernel window. Any view (any layout and strides, slices, padding channels), any number of
// spatial axes, every precision (INT8 exact). The correctness fallback of the convolution op and
// the only kernel for 3-D and larger convolutions; slow but simple.
#include <cuda_fp16.h>

#include <string>

#include "backends/cuda/kernels/conv_device.cuh"
#include "backends/cuda/kernels/conv_family.h"

namespace trtn::cuda::conv {
namespace {

__device__ __forceinline__ float as_float(float v) { return v; }
__device__ __forceinline__ float as_float(__half v) { return __half2float(v); }

/// acc += x * w in the node's arithmetic: float32 FMA (TF32: x rounded first; the weights are
/// TF32 values already), int32 for int8 (wrapping like the cpu emulation).
template <typename T>
__device__ __forceinline__ void mac(float& acc, T x, T w, int round) {
  float xf = as_float(x);
  if (round) xf = round_tf32(xf);
  acc = __fmaf_rn(xf, as_float(w), acc);
}
__device__ __forceinline__ void mac(int& acc, int8_t x, int8_t w, int /*round*/) {
  acc = static_cast<int>(static_cast<unsigned>(acc) + static_cast<unsigned>(static_cast<int>(x) * static_cast<int>(w)));
}

/// kAxes: the most spatial axes this instance handles (p.axes <= kAxes); the per-axis loops are
/// unrolled so the coordinate arrays stay in registers.
template <typename T, typename Acc, int kAxes>
__global__ void __launch_bounds__(256) direct_conv_kernel(const DirectParams p) {
  const T* in = static_cast<const T*>(p.in);
  const T* wts = static_cast<const T*>(p.weights);
  char* out = static_cast<char*>(p.out);
  const int eb = elem_bytes(p.out_elem);
  const int64_t total = static_cast<int64_t>(p.batch) * p.c_write * p.out_vol;
  TRTN_GRID_LOOP(i, total) {
    // The output element, walked in the output's memory order (coalesced stores).
    int n, c, sp;
    if (p.out_layout == Layout::kNHWC) {
      c = static_cast<int>(i % p.c_write);
      const int64_t rest = i / p.c_write;
      sp = static_cast<int>(rest % p.out_vol);
      n = static_cast<int>(rest / p.out_vol);
    } else {
      sp = static_cast<int>(i % p.out_vol);
      const int64_t rest = i / p.out_vol;
      c = static_cast<int>(rest % p.c_write);
      n = static_cast<int>(rest / p.c_write);
    }
    int oc[kAxes];
    int64_t out_off = n * p.out_sn + static_cast<int64_t>(c) * p.out_sc;
    {
      int t = sp;
#pragma unroll
      for (int a = kAxes - 1; a >= 0; --a) {
        oc[a] = 0;
        if (a < p.axes) {
          oc[a] = t % p.out_dims[a];
          t /= p.out_dims[a];
          out_off += oc[a] * p.out_stride[a];
        }
      }
    }
    char* dst = out + out_off * eb;
    if (c >= p.Cout) {  // padding channel
      zero_elem(dst, eb);
      continue;
    }
    const int g = c / p.Ng;
    const T* x = in + n * p.in_sn + static_cast<int64_t>(g) * p.Cg * p.in_sc;
    const T* w = wts + static_cast<int64_t>(c) * p.kvol * p.Cg_pad;
    Acc acc = 0;
    int kidx[kAxes];
#pragma unroll
    for (int a = 0; a < kAxes; ++a) kidx[a] = 0;
    for (int kpos = 0; kpos < p.kvol; ++kpos, w += p.Cg_pad) {
      bool inside = true;
      int64_t off = 0;
#pragma unroll
      for (int a = 0; a < kAxes; ++a) {
        if (a < p.axes) {
          const int ip = oc[a] * p.stride[a] - p.pad[a] + kidx[a] * p.dil[a];
          inside = inside && static_cast<unsigned>(ip) < static_cast<unsigned>(p.in_dims[a]);
          off += ip * p.in_stride[a];
        }
      }
      if (inside) {
        for (int ci = 0; ci < p.Cg; ++ci) mac(acc, x[off + ci * p.in_sc], w[ci], p.round_tf32);
      }
      // Next kernel position, last axis fastest (the weights' order).
#pragma unroll
      for (int a = kAxes - 1; a >= 0; --a) {
        if (a >= p.axes) continue;
        if (++kidx[a] < p.kernel[a]) break;
        kidx[a] = 0;
      }
    }
    float mul, add;
    load_channel(p.epi, c, true, &mul, &add);
    const float v = finish(acc, mul, add, p.epi);
    put_values(dst, p.out_elem, &v, 1);
  }
}

template <typename T, typename Acc>
Status launch_typed(const DirectParams& p, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.c_write * p.out_vol;
  if (total == 0) return Status::ok();
  if (p.axes <= 2) {
    direct_conv_kernel<T, Acc, 2><<<grid_for(total), 256, 0, stream>>>(p);
  } else {
    direct_conv_kernel<T, Acc, kMaxAxes><<<grid_for(total), 256, 0, stream>>>(p);
  }
  return TRTN_CUDA_STATUS(cudaGetLastError());
}

int direct_configs() { return 1; }

// Every problem but one that pools its input (the tensor-core family's POOL kernels alone do that).
bool direct_eligible(const ConvProblem& p) { return !p.pool_input; }

bool direct_tile(Math /*math*/, int /*i*/, TileConfig* /*t*/) { return false; }

std::string direct_tactic_name(Math /*math*/, int /*i*/) { return "direct"; }

bool direct_accepts(const ConvProblem& /*p*/, const ConvCall& /*call*/) { return true; }

Status direct_launch(const ConvProblem& pr, const ConvCall& call, int /*i*/) {
  const DirectParams p = direct_params(pr, call.in, call.out, call.pair);
  switch (pr.math) {
    case Math::kF16: return launch_typed<__half, float>(p, call.stream);
    case Math::kI8: return launch_typed<int8_t, int>(p, call.stream);
    default: return launch_typed<float, float>(p, call.stream);  // kF32, kTF32 (p.round_tf32)
  }
}

}  // namespace

const ConvFamily kDirectFamily = {
    direct_configs,
    direct_eligible,
    /*offered=*/nullptr,
    direct_tile,
    direct_tactic_name,
    /*smem_bytes=*/nullptr,
    /*prepare=*/nullptr,
    /*prepare_weights=*/nullptr,
    /*workspace_bytes=*/nullptr,
    direct_accepts,
    direct_launch,
};

}  // namespace trtn::cuda::conv
