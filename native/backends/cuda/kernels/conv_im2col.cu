// Explicit im2col, then a tensor-core GEMM (sm_80 and newer; FP16 and INT8), for layers with few
// input channels (a network's RGB input): the tensor-core kernels read 16 bytes of channels per
// kernel tap, so 3 channels padded to 16 int8 multiply 5x the zeros. im2col writes each output
// pixel's window as one dense row of K = R * S * C values (rounded up to 16 bytes, zeros after) into
// the workspace, and a 1x1 convolution of conv_mma.cu's tiles over those rows finishes the
// convolution, with its own copy of the weights ([Cout][kc_pad], k = kpos * Cg + c). Large batches
// run in passes of fewer images so the rows fit kWorkspaceLimit.
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cuda/kernels/conv_device.cuh"
#include "backends/cuda/kernels/conv_family.h"

namespace trtn::cuda::conv {
namespace {

/// Workspace one im2col pass may use; larger batches run in passes of fewer images.
constexpr int64_t kWorkspaceLimit = int64_t{192} << 20;

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

/// Values per im2col row: K = kvol * Cg rounded up to 16 bytes of the math's type.
int64_t kc_pad(const ConvProblem& p) { return round_up(p.kvol * p.cg, 16 / math_bytes(p.math)); }

/// Images one pass covers.
int64_t images_per_pass(const ConvProblem& p) {
  const int64_t per_image = p.out_sp[0] * p.out_sp[1] * kc_pad(p) * math_bytes(p.math);
  return std::max<int64_t>(1, kWorkspaceLimit / std::max<int64_t>(1, per_image));
}

/// One thread per 16-byte chunk of an im2col row. The input is channels-last with C <= 4 channels
/// per pixel readable as one 4-element pack, so each pixel the chunk touches is loaded once (a
/// 16-byte chunk of 3-channel taps spans at most 7 pixels), and (r, s, c) is counted, not looked up.
template <typename T>
__global__ void __launch_bounds__(256) im2col_kernel(const GemmParams p, int k_pad, void* rows) {
  constexpr int kCe = 16 / static_cast<int>(sizeof(T));
  struct alignas(4 * sizeof(T)) Pixel {
    T v[4];
  };
  const T* in = static_cast<const T*>(p.in);
  const int chunks = k_pad / kCe;
  const int pq = p.P * p.Q;
  const int C = p.Cg, S = p.S, K = p.R * p.S * p.Cg;
  const int64_t total = static_cast<int64_t>(p.M) * chunks;
  TRTN_GRID_LOOP(i, total) {
    const int m = static_cast<int>(i / chunks);
    const int k0 = static_cast<int>(i - static_cast<int64_t>(m) * chunks) * kCe;
    const int img = m / pq;
    const int rest = m - img * pq;
    const int oh = rest / p.Q;
    const int ow = rest - oh * p.Q;
    const int h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
    const T* base = in + img * p.in_sn;
    uint4 pack = make_uint4(0, 0, 0, 0);
    T* v = reinterpret_cast<T*>(&pack);
    // The first element's tap (r, s) and channel c, then counted forward.
    int kp = k0 / C;
    int c = k0 - kp * C;
    int r = kp / S;
    int s = kp - r * S;
    Pixel px{};
    bool loaded = false;
#pragma unroll
    for (int e = 0; e < kCe; ++e) {
      if (k0 + e < K) {
        if (!loaded) {
          const int h = h0 + r * p.dil_h, w = w0 + s * p.dil_w;
          const bool ok = static_cast<unsigned>(h) < static_cast<unsigned>(p.H) &&
                          static_cast<unsigned>(w) < static_cast<unsigned>(p.W);
          if (ok) {
            px = *reinterpret_cast<const Pixel*>(base + h * p.in_sh + w * p.in_sw);
          } else {
            px = Pixel{};
          }
          loaded = true;
        }
        // (A select, not px.v[c]: a runtime index would put the pixel in local memory.)
        v[e] = c == 0 ? px.v[0] : c == 1 ? px.v[1] : c == 2 ? px.v[2] : px.v[3];
        if (++c == C) {
          c = 0;
          loaded = false;
          if (++s == S) {
            s = 0;
            ++r;
          }
        }
      }
    }
    reinterpret_cast<uint4*>(rows)[i] = pack;
  }
}

/// Writes the rows of convolution `p` (its input view, geometry, M rows) to `rows`: [M][k_pad]
/// elements of the math's type, row m holding tap (k / Cg) = (r, s) and channel k % Cg at k, zeros
/// from K = R*S*Cg to k_pad (a multiple of 16 bytes). `rows` is 16-byte aligned.
Status launch_rows(Math math, const GemmParams& p, int k_pad, void* rows, cudaStream_t stream) {
  const int eb = math_bytes(math);
  const int64_t chunks = static_cast<int64_t>(p.M) * (k_pad * eb / 16);
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>((chunks + 255) / 256, 65535LL * 8));
  if (math == Math::kI8) {
    im2col_kernel<int8_t><<<grid, 256, 0, stream>>>(p, k_pad, rows);
  } else if (math == Math::kF16) {
    im2col_kernel<__half><<<grid, 256, 0, stream>>>(p, k_pad, rows);
  } else {
    im2col_kernel<float><<<grid, 256, 0, stream>>>(p, k_pad, rows);
  }
  return TRTN_CUDA_STATUS(cudaGetLastError());
}

/// im2col pays where padding the channels to 16 bytes at least doubles the multiply-adds; its
/// kernel reads each pixel's (at most 4) channels as one pack of a channels-last input.
bool im2col_eligible(const ConvProblem& p) {
  bool ok = !p.pool_input && p.axes == 2 && !p.flatten && p.groups == 1 &&
            (p.math == Math::kF16 || p.math == Math::kI8) && p.cg <= 4 && p.cg_pad >= 2 * p.cg && p.device.sm >= 80;
  for (size_t i = 0; i < p.pairs && ok; ++i) {
    const Place& ip = p.in_places[i];
    ok = ip.layout == Layout::kNHWC && ip.c_offset % 4 == 0 && ip.root_c % 4 == 0;
  }
  // The GEMM reads the workspace (dense rows), not the input: a 4-channel pixel (planner.cc,
  // stem_input) is as good as a 16-byte one.
  return ok;
}

// The GEMM is conv_mma.cu's: its tiles, shared memory and limits.
int im2col_configs() { return kMmaFamily.configs(); }
bool im2col_offered(const ConvProblem& p, int i) { return kMmaFamily.offered(p, i); }
bool im2col_tile(Math math, int i, TileConfig* t) { return kMmaFamily.tile(math, i, t); }
size_t im2col_smem_bytes(const ConvProblem& p, int i, int out_eb) { return kMmaFamily.smem_bytes(p, i, out_eb); }
Status im2col_prepare(Math math, int i, size_t smem) { return kMmaFamily.prepare(math, i, smem); }

/// "im2col_" and the GEMM tile's name (unique across its configs: conv_mma.cu's rule).
std::string im2col_tactic_name(Math math, int i) { return "im2col_" + kMmaFamily.tactic_name(math, i); }

/// From the padded [Cout][kvol][Cg_pad] copy: row co holds (kpos, c) at kpos * Cg + c.
Status im2col_prepare_weights(const ConvProblem& p, const HostWeights& w, DeviceBuffer* own) {
  const int64_t eb = math_bytes(p.math), kc = kc_pad(p);
  const char* src = static_cast<const char*>(w.data);
  std::vector<char> dst(static_cast<size_t>(p.cout * kc * eb), 0);
  for (int64_t co = 0; co < p.cout; ++co)
    for (int64_t kp = 0; kp < p.kvol; ++kp)
      std::memcpy(&dst[(co * kc + kp * p.cg) * eb], src + ((co * p.kvol + kp) * p.cg_pad) * eb, p.cg * eb);
  return own->upload(dst, p.name + " im2col weights");
}

size_t im2col_workspace_bytes(const ConvProblem& p, int /*i*/, int batch) {
  return static_cast<size_t>(std::min<int64_t>(batch, images_per_pass(p)) * p.out_sp[0] * p.out_sp[1] * kc_pad(p) *
                             math_bytes(p.math));
}

bool im2col_accepts(const ConvProblem& p, const ConvCall& call) {
  const View4& in = call.in;
  return call.workspace != nullptr && in.sc == 1 &&
         reinterpret_cast<uintptr_t>(in.data) % (4 * math_bytes(p.math)) == 0 && in.sn % 4 == 0 && in.sh % 4 == 0 &&
         in.sw % 4 == 0;
}

Status im2col_launch(const ConvProblem& pr, const ConvCall& call, int config) {
  const int64_t eb = math_bytes(pr.math), kc = kc_pad(pr), images = images_per_pass(pr);
  const View4& in = call.in;
  const View4& out = call.out;
  const int64_t pq = static_cast<int64_t>(out.h) * out.w;
  for (int n0 = 0; n0 < in.n; n0 += static_cast<int>(images)) {
    const int nb = static_cast<int>(std::min<int64_t>(images, in.n - n0));
    // The rows of images [n0, n0 + nb), then those rows as a channels-last [nb, kc_pad, P, Q]
    // input of a 1x1 convolution.
    View4 i = in;
    i.data = static_cast<char*>(in.data) + n0 * in.sn * eb;
    i.n = nb;
    View4 o = out;
    o.data = static_cast<char*>(out.data) + n0 * out.sn * elem_bytes(out.elem);
    o.n = nb;
    GemmParams p = gemm_params(pr, i, o, call.pair);
    Status st = launch_rows(pr.math, p, static_cast<int>(kc), call.workspace, call.stream);
    if (!st.is_ok()) return st;
    p.in = call.workspace;
    p.in_sw = kc;
    p.in_sh = out.w * kc;
    p.in_sn = pq * kc;
    p.in_sc = 1;
    p.H = out.h;
    p.W = out.w;
    p.R = p.S = 1;
    p.stride_h = p.stride_w = 1;
    p.pad_h = p.pad_w = 0;
    p.dil_h = p.dil_w = 1;
    p.Cg = p.Cg_pad = p.Ktot = static_cast<int>(kc);
    p.weights = call.own;
    st = mma_launch(pr.math, config, p, call.stream);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

}  // namespace

const ConvFamily kIm2colFamily = {
    im2col_configs,         im2col_eligible,   im2col_offered, im2col_tile,
    im2col_tactic_name,     im2col_smem_bytes, im2col_prepare, im2col_prepare_weights,
    im2col_workspace_bytes, im2col_accepts,    im2col_launch,
};

}  // namespace trtn::cuda::conv
