// The stem family (sm_80 and newer; FP16 and INT8): convolutions over at most 4 input channels (a
// network's RGB input: AlexNet conv1 11x11/4, GoogLeNet conv1 7x7/2) on tensor cores, without the
// im2col family's pass through global memory.
//
// GEMM as everywhere (conv_kernels.h), with K = (tap, channel) over 4 channels per tap (the input's
// C <= 4 channels; the weights of the missing ones are zero). A CTA owns one tile of the output
// image, kTp x kTq pixels (256 GEMM rows, r -> (r / tq, r % tq)), and one BN tile of the output
// channels, and is persistent: it keeps its weights [BN][taps_pad * 4] in shared memory for the
// whole launch and walks tiles, loading the input patch the next tile reads (ph x pw pixels of 4
// channels, zeros outside the image) with cp.async while it computes the current one.
//
// One K step is 32 bytes of K: 4 taps of float16 (m16n8k16) or 8 taps of int8 (m16n8k32). Every
// fragment register is 4 bytes of channels of one tap of one pixel, so a thread reads its A
// fragments from the patch with plain 32-bit loads at (row offset + tap offset): the row offset
// is the tile pixel's window origin in the patch, the tap offset (r * dil_h, s * dil_w) from a
// table; B fragments come from the weight rows the same way (the byte pattern of both mma shapes
// is one: register 0 at byte 4 * (lane % 4) of the step, register 1 16 bytes on). Taps past R * S
// read tap 0 (a real pixel of the window) against zero weights.
//
// The epilogue writes straight from the accumulators (pairs of channels where the output is
// channels-contiguous), with the arithmetic of every family (conv_device.cuh).
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "backends/cuda/kernels/conv_device.cuh"
#include "backends/cuda/kernels/conv_family.h"

namespace trtn::cuda::conv {

/// The tile geometry and shared-memory layout of one configuration for one node (stem_layout).
struct StemLayout {
  int tp = 0, tq = 0;                         // output tile: rows x columns
  int ph = 0, pw = 0;                         // input patch of one tile: rows x columns
  int patch_pitch = 0;                        // bytes per patch row
  int patch_bytes = 0;                        // bytes of one patch buffer (a multiple of 16)
  int taps = 0, taps_pad = 0;                 // R * S, and rounded up to whole K steps
  int kbytes = 0;                             // bytes of one weight row: taps_pad * 4 channels
  int bpitch = 0;                             // weight row pitch in shared memory
  int toff_at = 0, epi_at = 0, patch_at = 0;  // shared-memory offsets: tap table, epilogue, patches
  size_t smem = 0;
};

/// One launch of the stem kernel: the pair's GEMM view (g.weights: the family's own weights,
/// [Ng][taps_pad][4] of the math's type, zeros past R * S and C) and the layout.
struct StemParams {
  GemmParams g;
  StemLayout l;
  int tiles_p = 0, tiles_q = 0, tiles = 0;
  int out_vec2 = 0;  // channel pairs may be stored as one aligned 2-element value
};

namespace {

constexpr int kStemBM = 256;       // GEMM rows (output pixels) per tile
constexpr int kStemThreads = 256;  // 8 warps: 4 along M (64 rows each) x 2 along N (BN / 2 each)

int round_up_int(int a, int b) { return (a + b - 1) / b * b; }

template <class Pol, int BN, int TQ>
__global__ void __launch_bounds__(kStemThreads) stem_conv_kernel(const StemParams sp) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using Acc = typename Pol::Acc;
  constexpr int kEb = Pol::kBytes;
  constexpr int kPix = 4 * kEb;            // bytes of a patch pixel (4 channels)
  constexpr int kTapsPerStep = 32 / kPix;  // taps per 32-byte K step
  constexpr int kHiTaps = 16 / kPix;       // register 2/3 of a fragment: 16 bytes of K further
  constexpr int kMi = 4;                   // m16 blocks per warp (64 rows)
  constexpr int kNj = BN / 16;             // n8 blocks per warp (BN / 2 columns)
  static_assert(BN % 16 == 0, "warp tile of whole n8 blocks");
  static_assert(TQ % 8 == 0 && kStemBM % TQ == 0, "whole rows of 8 pixels per tile");

  const GemmParams& p = sp.g;
  extern __shared__ __align__(128) char smem[];
  char* bsm = smem;
  int* toff = reinterpret_cast<int*>(smem + sp.l.toff_at);
  float4* epi = reinterpret_cast<float4*>(smem + sp.l.epi_at);  // per channel pair: mul, mul, add, add
  const int tid = threadIdx.x;
  const int lane = tid % 32, warp = tid / 32;
  const int gid = lane / 4, tig = lane % 4;
  const int wm = (warp % 4) * 64, wn = (warp / 4) * (BN / 2);
  const int n0 = blockIdx.y * BN;

  // The CTA's weights and the tap table, once.
  {
    const char* w = static_cast<const char*>(p.weights);
    const int cpr = sp.l.kbytes / 16;
    for (int idx = tid; idx < BN * cpr; idx += kStemThreads) {
      const int n = idx / cpr, c = idx - n * cpr;
      const bool ok = n0 + n < p.Ng;
      cp_async16(smem_addr(bsm + n * sp.l.bpitch + c * 16),
                 ok ? w + static_cast<int64_t>(n0 + n) * sp.l.kbytes + c * 16 : w, ok ? 16 : 0);
    }
    for (int j = tid; j < BN / 2; j += kStemThreads) {
      float m0, m1, a0, a1;
      load_channel(p.epi, n0 + 2 * j, n0 + 2 * j < p.Ng, &m0, &a0);
      load_channel(p.epi, n0 + 2 * j + 1, n0 + 2 * j + 1 < p.Ng, &m1, &a1);
      epi[j] = make_float4(m0, m1, a0, a1);
    }
    for (int t = tid; t < sp.l.taps_pad; t += kStemThreads) {
      const int tap = t < sp.l.taps ? t : 0;
      const int r = tap / p.S, s = tap - r * p.S;
      toff[t] = r * p.dil_h * sp.l.patch_pitch + s * p.dil_w * kPix;
    }
  }
  const int per_image = sp.tiles_p * sp.tiles_q;
  const char* in = static_cast<const char*>(p.in);
  // Issues the copies of tile t's patch into buffer b: one patch row per warp at a time, one pixel
  // per lane.
  auto load_patch = [&](int t, int b) {
    const int img = t / per_image;
    const int rest = t - img * per_image;
    const int ti = rest / sp.tiles_q;
    const int h0 = ti * (kStemBM / TQ) * p.stride_h - p.pad_h;
    const int w0 = (rest - ti * sp.tiles_q) * TQ * p.stride_w - p.pad_w;
    const char* base = in + static_cast<int64_t>(img) * p.in_sn * kEb;
    const uint32_t dst = smem_addr(smem + sp.l.patch_at + b * sp.l.patch_bytes) + lane * kPix;
    const int64_t sw = p.in_sw * kEb;
    for (int y = warp; y < sp.l.ph; y += kStemThreads / 32) {
      const int h = h0 + y;
      const bool row_ok = static_cast<unsigned>(h) < static_cast<unsigned>(p.H);
      const char* src = base + static_cast<int64_t>(h) * p.in_sh * kEb + (w0 + lane) * sw;
      const uint32_t d = dst + y * sp.l.patch_pitch;
      for (int x = lane; x < sp.l.pw; x += 32, src += 32 * sw) {
        const bool ok = row_ok && static_cast<unsigned>(w0 + x) < static_cast<unsigned>(p.W);
        cp_async_small<kPix>(d + (x - lane) * kPix, ok ? src : in, ok ? kPix : 0);
      }
    }
  };

  // This thread's rows: the window origin of each in the patch (fixed by the tile shape).
  int rowoff[kMi][2];
#pragma unroll
  for (int i = 0; i < kMi; ++i) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = wm + i * 16 + half * 8 + gid;
      rowoff[i][half] = (r / TQ) * p.stride_h * sp.l.patch_pitch + (r % TQ) * p.stride_w * kPix;
    }
  }
  const int tap_sel = (4 * tig) / kPix;  // this thread's tap within a step
  const int within = (4 * tig) % kPix;   // and its bytes within the pixel
  const int ksteps = sp.l.taps_pad / kTapsPerStep;
  char* out = static_cast<char*>(p.out);
  const int eb = p.out_eb;

  int t = blockIdx.x;
  if (t < sp.tiles) load_patch(t, 0);
  cp_async_commit();
  for (int b = 0; t < sp.tiles; t += gridDim.x, b ^= 1) {
    const int next = t + gridDim.x;
    if (next < sp.tiles) load_patch(next, b ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();  // tile t's patch (and, the first time, the weights and tap table) landed

    const char* patch = smem + sp.l.patch_at + b * sp.l.patch_bytes;
    Acc acc[kMi][kNj][4];
#pragma unroll
    for (int i = 0; i < kMi; ++i) {
#pragma unroll
      for (int j = 0; j < kNj; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;
      }
    }
    for (int step = 0; step < ksteps; ++step) {
      const int ta = toff[step * kTapsPerStep + tap_sel] + within;
      const int tb = toff[step * kTapsPerStep + tap_sel + kHiTaps] + within;
      uint32_t af[kMi][4];
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        af[i][0] = *reinterpret_cast<const uint32_t*>(patch + rowoff[i][0] + ta);
        af[i][1] = *reinterpret_cast<const uint32_t*>(patch + rowoff[i][1] + ta);
        af[i][2] = *reinterpret_cast<const uint32_t*>(patch + rowoff[i][0] + tb);
        af[i][3] = *reinterpret_cast<const uint32_t*>(patch + rowoff[i][1] + tb);
      }
      uint32_t bf[kNj][2];
#pragma unroll
      for (int j = 0; j < kNj; ++j) {
        const char* brow = bsm + (wn + j * 8 + gid) * sp.l.bpitch + step * 32 + 4 * tig;
        bf[j][0] = *reinterpret_cast<const uint32_t*>(brow);
        bf[j][1] = *reinterpret_cast<const uint32_t*>(brow + 16);
      }
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
#pragma unroll
        for (int j = 0; j < kNj; ++j) Pol::mma(acc[i][j], af[i], bf[j]);
      }
    }

    // Epilogue: accumulator (i, j, e) is row wm + 16i + gid (+8 for e >= 2), column
    // n0 + wn + 8j + 2 tig (+1 for odd e).
    const int img = t / per_image;
    const int rest = t - img * per_image;
    const int ti = rest / sp.tiles_q;
    const int p0 = ti * (kStemBM / TQ), q0 = (rest - ti * sp.tiles_q) * TQ;
    // Each of this thread's rows: its offset within the image (the launch checked that one image's
    // output offsets fit an int), -1 outside the image.
    char* out_img = out + static_cast<int64_t>(img) * p.out_sn * eb;
    int out_off[kMi][2];
#pragma unroll
    for (int i = 0; i < kMi; ++i) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int r = wm + i * 16 + half * 8 + gid;
        const int op = p0 + r / TQ, oq = q0 + r % TQ;
        out_off[i][half] =
            op < p.P && oq < p.Q ? op * static_cast<int>(p.out_sh) + oq * static_cast<int>(p.out_sw) : -1;
      }
    }
#pragma unroll
    for (int j = 0; j < kNj; ++j) {
      const int nl = wn + j * 8 + 2 * tig;  // the pair's first channel within the tile
      const int n = n0 + nl;
      const float4 ma = epi[nl / 2];
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int off = out_off[i][half];
          if (off < 0 || n >= p.Ng) continue;
          float v[2];
          v[0] = finish(acc[i][j][2 * half], ma.x, ma.z, p.epi);
          v[1] = finish(acc[i][j][2 * half + 1], ma.y, ma.w, p.epi);
          if (sp.out_vec2 && n + 1 < p.Ng) {
            put_values(out_img + static_cast<int64_t>(off + n) * eb, p.out_elem, v, 2);
          } else {
            put_values(out_img + static_cast<int64_t>(off + n * static_cast<int>(p.out_sc)) * eb, p.out_elem, v, 1);
            if (n + 1 < p.Ng)
              put_values(out_img + static_cast<int64_t>(off + (n + 1) * static_cast<int>(p.out_sc)) * eb, p.out_elem,
                         v + 1, 1);
          }
        }
      }
    }
    // The padding channels [out_c, out_cwrite), written by the CTAs of the last channel tile.
    if (n0 + BN >= p.Ng && p.out_cwrite > p.out_c) {
      const int npad = p.out_cwrite - p.out_c;
      for (int idx = tid; idx < kStemBM * npad; idx += kStemThreads) {
        const int r = idx / npad;
        const int op = p0 + r / TQ, oq = q0 + r % TQ;
        if (op >= p.P || oq >= p.Q) continue;
        const int64_t off = static_cast<int64_t>(img) * p.out_sn + static_cast<int64_t>(op) * p.out_sh +
                            static_cast<int64_t>(oq) * p.out_sw;
        zero_elem(out + (off + static_cast<int64_t>(p.out_c + idx - r * npad) * p.out_sc) * eb, eb);
      }
    }
    __syncthreads();  // every warp is done with buffer b before the next iteration refills it
  }
  cp_async_wait<0>();
#endif
}

// The configurations: (channel tile BN, output tile columns tq); tp = 256 / tq rows.
struct StemConfig {
  int bn, tq;
};
constexpr StemConfig kStemConfigs[] = {{32, 16}, {32, 32}, {64, 16},  {64, 32},
                                       {96, 16}, {96, 32}, {128, 16}, {128, 32}};
constexpr int kStemConfigCount = static_cast<int>(sizeof(kStemConfigs) / sizeof(kStemConfigs[0]));

/// The layout of configuration i for problem p (views not needed).
StemLayout stem_layout(const ConvProblem& p, int i) {
  const int pix = 4 * math_bytes(p.math);
  const StemConfig& c = kStemConfigs[i];
  StemLayout l{};
  l.tq = c.tq;
  l.tp = kStemBM / c.tq;
  const int r = static_cast<int>(p.kernel[0]), s = static_cast<int>(p.kernel[1]);
  l.ph = (l.tp - 1) * static_cast<int>(p.stride[0]) + (r - 1) * static_cast<int>(p.dil[0]) + 1;
  l.pw = (l.tq - 1) * static_cast<int>(p.stride[1]) + (s - 1) * static_cast<int>(p.dil[1]) + 1;
  l.patch_pitch = round_up_int(l.pw * pix, 16);
  l.patch_bytes = l.ph * l.patch_pitch;
  l.taps = r * s;
  l.taps_pad = round_up_int(l.taps, 32 / pix);
  l.kbytes = l.taps_pad * pix;
  // An odd number of 16-byte chunks per row: the 8 rows of a B fragment load hit distinct banks.
  l.bpitch = round_up_int(l.kbytes, 32) + 16;
  l.toff_at = c.bn * l.bpitch;
  l.epi_at = round_up_int(l.toff_at + 4 * l.taps_pad, 16);
  l.patch_at = round_up_int(l.epi_at + 8 * c.bn, 128);
  l.smem = static_cast<size_t>(l.patch_at) + 2 * static_cast<size_t>(l.patch_bytes);
  return l;
}

template <class Pol, int TQ>
auto stem_kernel_of_bn(int bn) {
  switch (bn) {
    case 32: return stem_conv_kernel<Pol, 32, TQ>;
    case 64: return stem_conv_kernel<Pol, 64, TQ>;
    case 96: return stem_conv_kernel<Pol, 96, TQ>;
    default: return stem_conv_kernel<Pol, 128, TQ>;
  }
}

template <class Pol>
auto stem_kernel_of(int i) {
  const StemConfig& c = kStemConfigs[i];
  return c.tq == 16 ? stem_kernel_of_bn<Pol, 16>(c.bn) : stem_kernel_of_bn<Pol, 32>(c.bn);
}

using mma_policy::PolicyF16;
using mma_policy::PolicyI8;

int stem_configs() { return kStemConfigCount; }

/// Few channels (at most 4, one group), 2-D, FP16 or INT8 on sm_80+, every input channels-last
/// with its 4 channels readable as one aligned pixel whose channels past C are padding zeros, and
/// some configuration fitting in shared memory.
bool stem_eligible(const ConvProblem& p) {
  bool ok = !p.pool_input && p.axes == 2 && !p.flatten && p.groups == 1 && p.cg <= 4 && p.device.sm >= 80 &&
            (p.math == Math::kF16 || p.math == Math::kI8) && p.kernel[0] * p.kernel[1] <= 4096 && p.stride[0] <= 64 &&
            p.stride[1] <= 64 && p.dil[0] <= 64 && p.dil[1] <= 64;
  for (size_t i = 0; i < p.pairs && ok; ++i) {
    const Place& ip = p.in_places[i];
    ok = ip.layout == Layout::kNHWC && ip.c_offset % 4 == 0 && ip.root_c % 4 == 0 && ip.c_write >= 4;
  }
  size_t least = stem_layout(p, 0).smem;
  for (int i = 1; i < kStemConfigCount; ++i) least = std::min(least, stem_layout(p, i).smem);
  return ok && least <= p.device.shared_per_block_optin;
}

bool stem_offered(const ConvProblem& p, int /*i*/) { return p.math == Math::kF16 || p.math == Math::kI8; }

bool stem_tile(Math math, int i, TileConfig* t) {
  *t = TileConfig{kStemBM, kStemConfigs[i].bn, 32 / math_bytes(math), 2, kStemThreads};
  return true;
}

/// "stem_<math>_256x<BN>x<BK>_q<tile columns>".
std::string stem_tactic_name(Math math, int i) {
  TileConfig t;
  stem_tile(math, i, &t);
  return tile_tactic_name(std::string("stem_") + math_label(math), t, false) + "_q" +
         std::to_string(kStemConfigs[i].tq);
}

size_t stem_smem_bytes(const ConvProblem& p, int i, int /*out_eb*/) { return stem_layout(p, i).smem; }

Status stem_prepare(Math math, int i, size_t smem) {
  auto raise = [&](auto kernel) {
    return TRTN_CUDA_STATUS(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  };
  return math == Math::kI8 ? raise(stem_kernel_of<PolicyI8>(i)) : raise(stem_kernel_of<PolicyF16>(i));
}

/// From the padded [Cout][kvol][Cg_pad] copy: row co holds tap t's channels at [t * 4, t * 4 + Cg).
Status stem_prepare_weights(const ConvProblem& p, const HostWeights& w, DeviceBuffer* own) {
  const int64_t eb = math_bytes(p.math);
  const int64_t row = stem_layout(p, 0).kbytes;  // taps_pad * 4 * eb, the same for every config
  const char* src = static_cast<const char*>(w.data);
  std::vector<char> dst(static_cast<size_t>(p.cout * row), 0);
  for (int64_t co = 0; co < p.cout; ++co)
    for (int64_t kp = 0; kp < p.kvol; ++kp)
      std::memcpy(&dst[co * row + kp * 4 * eb], src + ((co * p.kvol + kp) * p.cg_pad) * eb, p.cg * eb);
  return own->upload(dst, p.name + " stem weights");
}

bool stem_accepts(const ConvProblem& p, const ConvCall& call) {
  const View4& in = call.in;
  const View4& out = call.out;
  // The kernel's offsets within one output image are ints.
  const int64_t out_span = (out.h - 1) * out.sh + (out.w - 1) * out.sw + (out.c_write - 1) * out.sc + 1;
  return out.sh >= 0 && out.sw >= 0 && out.sc >= 0 && out_span < INT_MAX / 2 && in.sc == 1 &&
         reinterpret_cast<uintptr_t>(in.data) % (4 * math_bytes(p.math)) == 0 && in.sn % 4 == 0 && in.sh % 4 == 0 &&
         in.sw % 4 == 0;
}

/// CTAs of `kernel` with `smem` bytes that fit one multiprocessor of GPU `device`: asked of the
/// runtime once per (kernel, GPU, shared memory), not at every launch (CUDA graphs replay without
/// the host, but tactic timing and uncaptured runs launch from here).
Status ctas_per_sm(const void* kernel, int device, size_t smem, int* out) {
  static std::mutex mu;
  static std::map<std::tuple<const void*, int, size_t>, int> known;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(kernel, device, smem);
  auto it = known.find(key);
  if (it == known.end()) {
    int n = 0;
    TRTN_TRY(TRTN_CUDA_STATUS(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kStemThreads, static_cast<int>(smem))));
    it = known.emplace(key, n).first;
  }
  *out = it->second;
  return Status::ok();
}

Status stem_launch(const ConvProblem& pr, const ConvCall& call, int config) {
  const StemLayout l = stem_layout(pr, config);
  StemParams sp;
  sp.g = gemm_params(pr, call.in, call.out, call.pair);
  sp.g.weights = call.own;
  sp.l = l;
  sp.tiles_p = (sp.g.P + l.tp - 1) / l.tp;
  sp.tiles_q = (sp.g.Q + l.tq - 1) / l.tq;
  const int64_t tiles = static_cast<int64_t>(call.in.n) * sp.tiles_p * sp.tiles_q;
  if (tiles > INT_MAX / 2) return Status(Code::kInvalidArgument, "convolution '" + pr.name + "': too many tiles");
  sp.tiles = static_cast<int>(tiles);
  const View4& out = call.out;
  sp.out_vec2 = out.sc == 1 && reinterpret_cast<uintptr_t>(out.data) % (2 * elem_bytes(out.elem)) == 0 &&
                out.sn % 2 == 0 && out.sh % 2 == 0 && out.sw % 2 == 0;
  auto run = [&](auto kernel) {
    int per_sm = 0;
    Status st = ctas_per_sm(reinterpret_cast<const void*>(kernel), pr.device.index, l.smem, &per_sm);
    if (!st.is_ok()) return st;
    const int64_t resident = static_cast<int64_t>(std::max(1, per_sm)) * std::max(1, pr.device.multiprocessors);
    const dim3 grid(static_cast<unsigned>(std::min<int64_t>(sp.tiles, resident)),
                    static_cast<unsigned>((sp.g.Ng + kStemConfigs[config].bn - 1) / kStemConfigs[config].bn));
    if (sp.tiles > 0) kernel<<<grid, kStemThreads, l.smem, call.stream>>>(sp);
    return TRTN_CUDA_STATUS(cudaGetLastError());
  };
  return pr.math == Math::kI8 ? run(stem_kernel_of<PolicyI8>(config)) : run(stem_kernel_of<PolicyF16>(config));
}

}  // namespace

const ConvFamily kStemFamily = {
    stem_configs, stem_eligible,        stem_offered,
    stem_tile,    stem_tactic_name,     stem_smem_bytes,
    stem_prepare, stem_prepare_weights, /*workspace_bytes=*/nullptr,
    stem_accepts, stem_launch,
};

}  // namespace trtn::cuda::conv
