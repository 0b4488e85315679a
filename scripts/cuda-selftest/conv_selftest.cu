// Standalone GPU self-test of the cuda backend's Convolution and InnerProduct ops
// (native/backends/cuda/kernels/conv*.cu). Not part of the addon. For every case and precision it
// creates the op exactly as the backend will (make_convolution / make_inner_product with a graph,
// prepared weights and tensor places), runs EVERY tactic the op offers and compares the whole
// output root buffer with a host reference:
//   - values: FP32 / TF32 / FP16 within a tolerance scaled by sum |x w|; INT8 bit-exact (the
//     arithmetic of docs/int8.md, computed here independently);
//   - padding channels [c, c_write) of the output: zero;
//   - everything else in the output's root (other slices of a concat): untouched.
// Inputs that are slices of a larger root have NaN (float) or garbage (int8) in the other channels,
// so a kernel reading outside its channels fails.
//
// Build (from the repository root; 90 for H100/H200, 80 for A100, 75 for T4), from the sources
// native/sources.json lists:
//   scripts/cuda-selftest/build.sh 90 /tmp/conv_selftest
// Run:
//   /tmp/conv_selftest                 hand-picked cases + 40 random ones, every precision
//   /tmp/conv_selftest --random 200 --seed 7
//   /tmp/conv_selftest --bench [--batch 128]   time every tactic on AlexNet / GoogLeNet layers
//   add --verbose to print each op's signature and tactic list, --quiet to print only FAIL lines
//   compute-sanitizer --tool memcheck /tmp/conv_selftest --random 10 --quiet   (out-of-bounds accesses)
// Exit status 1 when any check fails.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/op.h"
#include "core/gemm_node.h"
#include "core/json.h"
#include "core/numeric.h"
#include "core/weights.h"

using namespace trtn;
using namespace trtn::cuda;

namespace {

#define CHECK_CUDA(call)                                                                         \
  do {                                                                                           \
    cudaError_t e_ = (call);                                                                     \
    if (e_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::exit(2);                                                                              \
    }                                                                                            \
  } while (0)

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint32_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<uint32_t>(s >> 11);
  }
  int uniform(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint32_t>(hi - lo + 1)); }
  float uniformf(float lo, float hi) { return lo + (hi - lo) * (next() & 0xFFFFFF) / 16777216.0f; }
  bool chance(int percent) { return uniform(0, 99) < percent; }
};

/// Where a tensor sits in its root: `pre` channels before it, `post` after (other concat inputs).
struct Slice {
  Layout layout = Layout::kLinear;
  int pre = 0, post = 0;
};

struct Case {
  std::string name;
  bool ip = false;
  int batch = 1;
  std::vector<int64_t> in_dims;  // one image, channels first
  // Convolution
  int64_t cout = 1, group = 1;
  std::vector<int64_t> kernel, stride, pad, dil;
  // InnerProduct
  int64_t axis = 1;
  bool transpose = false;
  int pairs = 1;
  Slice in, out;
  bool relu = false;
  float slope = 0.0f;
};

enum class Prec { kFP32, kTF32, kFP16, kFP16OutF32, kINT8, kINT8OutF32 };
const Prec kAllPrecs[] = {Prec::kFP32, Prec::kTF32, Prec::kFP16, Prec::kFP16OutF32, Prec::kINT8, Prec::kINT8OutF32};

const char* prec_name(Prec p) {
  switch (p) {
    case Prec::kFP32: return "fp32";
    case Prec::kTF32: return "tf32";
    case Prec::kFP16: return "fp16";
    case Prec::kFP16OutF32: return "fp16->f32";
    case Prec::kINT8: return "int8";
    case Prec::kINT8OutF32: return "int8->f32";
  }
  return "?";
}
Precision precision_of(Prec p) {
  switch (p) {
    case Prec::kTF32: return Precision::kTF32;
    case Prec::kFP16:
    case Prec::kFP16OutF32: return Precision::kFP16;
    case Prec::kINT8:
    case Prec::kINT8OutF32: return Precision::kINT8;
    default: return Precision::kFP32;
  }
}
Elem in_elem(Prec p) {
  const Precision q = precision_of(p);
  return q == Precision::kFP16 ? Elem::kF16 : q == Precision::kINT8 ? Elem::kI8 : Elem::kF32;
}
Elem out_elem(Prec p) {
  switch (p) {
    case Prec::kFP16: return Elem::kF16;
    case Prec::kINT8: return Elem::kI8;
    default: return Elem::kF32;
  }
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s;
}

std::string ints_json(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

int64_t volume(const std::vector<int64_t>& d, size_t from = 0) {
  int64_t v = 1;
  for (size_t i = from; i < d.size(); ++i) v *= d[i];
  return v;
}

/// The output dims of a case (one image).
std::vector<int64_t> out_dims_of(const Case& c) {
  if (c.ip) {
    std::vector<int64_t> d(c.in_dims.begin(), c.in_dims.begin() + (c.axis - 1));
    d.push_back(c.cout);
    return d;
  }
  std::vector<int64_t> d{c.cout};
  for (size_t a = 0; a + 1 < c.in_dims.size(); ++a) {
    const int64_t ext = c.dil[a] * (c.kernel[a] - 1) + 1;
    d.push_back((c.in_dims[a + 1] + 2 * c.pad[a] - ext) / c.stride[a] + 1);
  }
  return d;
}

std::string case_text(const Case& c) {
  std::string s = c.name + " [" + (c.ip ? "IP" : "conv") + " n" + std::to_string(c.batch) + " in " + dims_str(c.in_dims);
  if (c.ip) {
    s += " N" + std::to_string(c.cout) + " axis" + std::to_string(c.axis) + (c.transpose ? " T" : "");
  } else {
    s += " o" + std::to_string(c.cout) + " g" + std::to_string(c.group) + " k" + dims_str(c.kernel) + " s" +
         dims_str(c.stride) + " p" + dims_str(c.pad) + " d" + dims_str(c.dil);
  }
  auto sl = [](const Slice& x) {
    return std::string(x.layout == Layout::kNHWC ? "nhwc" : "lin") +
           (x.pre || x.post ? "(" + std::to_string(x.pre) + "|" + std::to_string(x.post) + ")" : "");
  };
  s += " " + sl(c.in) + "->" + sl(c.out);
  if (c.pairs > 1) s += " pairs" + std::to_string(c.pairs);
  if (c.relu) s += " relu" + (c.slope != 0 ? "(" + std::to_string(c.slope).substr(0, 4) + ")" : std::string());
  return s + "]";
}

Place make_place(int root, const std::vector<int64_t>& dims, const Slice& s, Elem e, float scale) {
  Place p;
  p.root = root;
  p.elem = e;
  p.layout = s.layout;
  p.c = dims[0];
  if (dims.size() <= 3) {
    p.h = dims.size() > 1 ? dims[1] : 1;
    p.w = dims.size() > 2 ? dims[2] : 1;
  } else {
    p.h = volume(dims, 1);
    p.w = 1;
  }
  const int64_t total = s.pre + p.c + s.post;
  if (s.layout == Layout::kNHWC) {
    const int64_t chunk = 16 / elem_bytes(e);
    p.root_c = (total + chunk - 1) / chunk * chunk;
    p.c_write = p.c + (s.post == 0 ? p.root_c - total : 0);
  } else {
    p.root_c = total;
    p.c_write = p.c;
  }
  p.c_offset = s.pre;
  p.scale = scale;
  return p;
}

/// Index in the root of element f (row-major over the tensor's dims) of image n.
int64_t root_index(const Place& p, int64_t n, int64_t f) {
  const int64_t hw = p.h * p.w;
  const int64_t c = f / hw, sp = f % hw;
  const int64_t base = n * p.root_c * hw;
  return p.layout == Layout::kNHWC ? base + sp * p.root_c + p.c_offset + c : base + (p.c_offset + c) * hw + sp;
}

/// What channel of the root an index holds (for the untouched / padding checks).
int64_t root_channel(const Place& p, int64_t idx) {
  const int64_t hw = p.h * p.w;
  return p.layout == Layout::kNHWC ? idx % p.root_c : (idx / hw) % p.root_c;
}

struct Stats {
  int pass = 0, fail = 0;
};

bool g_verbose = false, g_quiet = false;

/// One (case, precision): builds the op, runs every tactic, checks. Returns false on any failure.
bool run_case(const Case& cs, Prec prec, Rng& rng, const DeviceProps& dev, Stats* stats) {
  const Precision precision = precision_of(prec);
  const bool int8 = precision == Precision::kINT8;
  const Elem ie = in_elem(prec), oe = out_elem(prec);
  const std::vector<int64_t> odims = out_dims_of(cs);
  const int64_t in_vol = volume(cs.in_dims), out_vol = volume(odims);
  const int batch = cs.batch;
  const std::string label = case_text(cs) + " " + prec_name(prec);

  // ---- weights (raw floats as a network gives them, then prepared as native/core/weights.cc does)
  int64_t k_per_out;  // inputs per output channel
  std::vector<int64_t> wdims;
  if (cs.ip) {
    k_per_out = volume(cs.in_dims, cs.axis - 1);
    wdims = cs.transpose ? std::vector<int64_t>{k_per_out, cs.cout} : std::vector<int64_t>{cs.cout, k_per_out};
  } else {
    k_per_out = cs.in_dims[0] / cs.group * volume(cs.kernel);
    wdims = {cs.cout, cs.in_dims[0] / cs.group};
    wdims.insert(wdims.end(), cs.kernel.begin(), cs.kernel.end());
  }
  const float wr = 1.0f / std::sqrt(static_cast<float>(k_per_out));
  std::vector<float> wraw(static_cast<size_t>(volume(wdims)));
  for (float& v : wraw) v = rng.uniformf(-wr, wr);
  for (size_t i = 0; i < wraw.size(); i += 7) wraw[i] = 0.0f;  // exact zeros too
  std::vector<float> bias(static_cast<size_t>(cs.cout));
  for (float& v : bias) v = rng.uniformf(-0.5f, 0.5f);
  Blob wblob, bblob, sblob;
  wblob.dims = wdims;
  bblob.dims = {cs.cout};
  bblob.f32 = bias;
  std::vector<float> wval(wraw.size());  // the weight values the kernels multiply (int8: q)
  if (int8) {
    wblob.dtype = DType::kInt8;
    sblob.dims = {cs.cout};
    quantize_per_channel(wraw, wdims, cs.ip && cs.transpose ? 1 : 0, &wblob.i8, &sblob.f32);
    for (size_t i = 0; i < wval.size(); ++i) wval[i] = wblob.i8[i];
  } else {
    wblob.dtype = DType::kFloat32;
    wblob.f32 = wraw;
    if (precision == Precision::kFP16) for (float& v : wblob.f32) v = numeric::round_to_half(v);
    if (precision == Precision::kTF32) for (float& v : wblob.f32) v = numeric::round_to_tf32(v);
    wval = wblob.f32;
  }
  auto weight = [&](int64_t co, int64_t k) -> double {  // k over the channel's inputs in (c, spatial) order
    if (cs.ip && cs.transpose) return wval[k * cs.cout + co];
    return wval[co * k_per_out + k];
  };

  // ---- inputs (logical values per pair)
  std::vector<std::vector<float>> xs(cs.pairs);
  std::vector<float> sx(cs.pairs);
  for (int pr = 0; pr < cs.pairs; ++pr) {
    sx[pr] = 0.02f * (pr + 1);
    xs[pr].resize(static_cast<size_t>(batch * in_vol));
    for (float& v : xs[pr]) {
      if (int8) {
        v = static_cast<float>(rng.uniform(-127, 127));
      } else {
        v = rng.uniformf(-1.0f, 1.0f);
        if (precision == Precision::kFP16) v = numeric::round_to_half(v);
      }
    }
  }

  // ---- reference sums
  const int64_t cin = cs.in_dims[0];
  std::vector<std::vector<double>> acc(cs.pairs), absum(cs.pairs);
  std::vector<int64_t> chan_of(static_cast<size_t>(out_vol));
  for (int pr = 0; pr < cs.pairs; ++pr) {
    acc[pr].assign(static_cast<size_t>(batch * out_vol), 0.0);
    absum[pr].assign(static_cast<size_t>(batch * out_vol), 0.0);
    auto xval = [&](int64_t n, int64_t f) -> double {
      double v = xs[pr][n * in_vol + f];
      if (precision == Precision::kTF32) v = numeric::round_to_tf32(static_cast<float>(v));
      return v;
    };
    if (cs.ip) {
      const int64_t rows = in_vol / k_per_out;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t o = 0; o < cs.cout; ++o) {
            double a = 0, s = 0;
            for (int64_t k = 0; k < k_per_out; ++k) {
              const double t = xval(n, r * k_per_out + k) * weight(o, k);
              a += t;
              s += std::fabs(t);
            }
            acc[pr][n * out_vol + r * cs.cout + o] = a;
            absum[pr][n * out_vol + r * cs.cout + o] = s;
            chan_of[r * cs.cout + o] = o;
          }
    } else {
      const size_t axes = cs.kernel.size();
      const int64_t cg = cin / cs.group, ng = cs.cout / cs.group;
      const int64_t isp = in_vol / cin, osp = out_vol / cs.cout, kv = volume(cs.kernel);
      std::vector<int64_t> oc(axes), kc(axes);
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t co = 0; co < cs.cout; ++co)
          for (int64_t sp = 0; sp < osp; ++sp) {
            int64_t t = sp;
            for (size_t a = axes; a-- > 0;) {
              oc[a] = t % odims[a + 1];
              t /= odims[a + 1];
            }
            const int64_t g = co / ng;
            double a_sum = 0, s_sum = 0;
            for (int64_t kp = 0; kp < kv; ++kp) {
              int64_t u = kp;
              for (size_t a = axes; a-- > 0;) {
                kc[a] = u % cs.kernel[a];
                u /= cs.kernel[a];
              }
              bool inside = true;
              int64_t ioff = 0;
              for (size_t a = 0; a < axes; ++a) {
                const int64_t ip = oc[a] * cs.stride[a] - cs.pad[a] + kc[a] * cs.dil[a];
                inside = inside && ip >= 0 && ip < cs.in_dims[a + 1];
                ioff = ioff * cs.in_dims[a + 1] + ip;
              }
              if (!inside) continue;
              for (int64_t ci = 0; ci < cg; ++ci) {
                const double tv = xval(n, (g * cg + ci) * isp + ioff) * weight(co, ci * kv + kp);
                a_sum += tv;
                s_sum += std::fabs(tv);
              }
            }
            acc[pr][n * out_vol + co * osp + sp] = a_sum;
            absum[pr][n * out_vol + co * osp + sp] = s_sum;
            chan_of[co * osp + sp] = co;
          }
    }
  }
  // INT8 output scales: put the largest |value| near 150 steps, so some outputs saturate.
  std::vector<float> sy(cs.pairs, 1.0f);
  if (int8) {
    double mean_sw = 0;
    for (float v : sblob.f32) mean_sw += v;
    mean_sw /= sblob.f32.size();
    for (int pr = 0; pr < cs.pairs; ++pr) {
      double amax = 1;
      for (double v : acc[pr]) amax = std::max(amax, std::fabs(v));
      sy[pr] = static_cast<float>(sx[pr] * mean_sw * amax / 150.0);
    }
  }

  // ---- graph, places, op
  Graph graph;
  graph.name = "selftest";
  graph.precision = precision;
  graph.max_batch = batch;
  std::vector<Place> places;
  Node node;
  node.name = "L";
  node.op = cs.ip ? "InnerProduct" : "Convolution";
  node.precision = precision;
  node.activation.relu = cs.relu;
  node.activation.negative_slope = cs.slope;
  for (int pr = 0; pr < cs.pairs; ++pr) {
    TensorDesc t;
    t.name = "x" + std::to_string(pr);
    t.dims = cs.in_dims;
    t.dtype = int8 ? DType::kInt8 : DType::kFloat32;
    t.scale = int8 ? sx[pr] : 0.0f;
    t.volume = in_vol;
    node.inputs.push_back(static_cast<int>(graph.tensors.size()));
    graph.tensors.push_back(t);
    places.push_back(make_place(static_cast<int>(places.size()), cs.in_dims, cs.in, ie, t.scale));
  }
  for (int pr = 0; pr < cs.pairs; ++pr) {
    TensorDesc t;
    t.name = "y" + std::to_string(pr);
    t.dims = odims;
    t.dtype = oe == Elem::kI8 ? DType::kInt8 : DType::kFloat32;
    t.scale = oe == Elem::kI8 ? sy[pr] : 0.0f;
    t.volume = out_vol;
    node.outputs.push_back(static_cast<int>(graph.tensors.size()));
    graph.tensors.push_back(t);
    places.push_back(make_place(static_cast<int>(places.size()), odims, cs.out, oe, t.scale));
  }
  std::string attrs = "{\"numOutput\":" + std::to_string(cs.cout);
  if (cs.ip) {
    attrs += ",\"axis\":" + std::to_string(cs.axis) + ",\"transpose\":" + (cs.transpose ? "true" : "false");
  } else {
    attrs += ",\"kernel\":" + ints_json(cs.kernel) + ",\"stride\":" + ints_json(cs.stride) + ",\"pad\":" +
             ints_json(cs.pad) + ",\"dilation\":" + ints_json(cs.dil) + ",\"group\":" + std::to_string(cs.group);
  }
  attrs += "}";
  Status st = json::parse(attrs, &node.attrs);
  if (!st.is_ok()) {
    std::printf("FAIL  %s: attrs: %s\n", label.c_str(), st.message().c_str());
    ++stats->fail;
    return false;
  }
  graph.nodes.push_back(node);
  WeightStore weights;
  weights.put("L/weights", wblob);
  weights.put("L/bias", bblob);
  if (int8) weights.put("L/wscale", sblob);

  OpInit op_init{graph, graph.nodes[0], weights, "cuda"};
  CudaOpInit init{op_init, places, dev};
  std::unique_ptr<CudaOp> op;
  st = cs.ip ? make_inner_product(init, &op) : make_convolution(init, &op);
  if (!st.is_ok()) {
    std::printf("FAIL  %s: init: %s\n", label.c_str(), st.message().c_str());
    ++stats->fail;
    return false;
  }
  if (g_verbose) {
    std::printf("      %s\n      signature: %s\n      tactics:", label.c_str(), op->signature().c_str());
    for (int t = 0; t < op->tactic_count(); ++t) {
      std::printf(" %s%s", op->tactic_name(t).c_str(), t == op->tactic() ? "*" : "");
    }
    std::printf("\n");
  }

  // ---- device buffers
  const int np = cs.pairs;
  std::vector<void*> in_root(np), out_root(np);
  std::vector<size_t> in_bytes(np), out_bytes(np);
  for (int pr = 0; pr < np; ++pr) {
    const Place& ip = places[pr];
    const int64_t count = batch * ip.root_image_elems();
    in_bytes[pr] = static_cast<size_t>(count * elem_bytes(ie));
    std::vector<uint8_t> host(in_bytes[pr]);
    // Other channels of the root: NaN (float) or garbage (int8); padding channels: zero.
    for (int64_t i = 0; i < count; ++i) {
      const int64_t ch = root_channel(ip, i);
      const bool padding = ip.layout == Layout::kNHWC && ch >= cs.in.pre + ip.c + cs.in.post;
      if (ie == Elem::kF32) {
        const float v = padding ? 0.0f : std::nanf("");
        std::memcpy(&host[i * 4], &v, 4);
      } else if (ie == Elem::kF16) {
        const uint16_t v = padding ? 0 : 0x7E00;
        std::memcpy(&host[i * 2], &v, 2);
      } else {
        host[i] = padding ? 0 : static_cast<uint8_t>(rng.uniform(-127, 127));
      }
    }
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t f = 0; f < in_vol; ++f) {
        const int64_t i = root_index(ip, n, f);
        const float v = xs[pr][n * in_vol + f];
        if (ie == Elem::kF32) {
          std::memcpy(&host[i * 4], &v, 4);
        } else if (ie == Elem::kF16) {
          const uint16_t h = numeric::float_to_half_bits(v);
          std::memcpy(&host[i * 2], &h, 2);
        } else {
          host[i] = static_cast<uint8_t>(static_cast<int8_t>(v));
        }
      }
    CHECK_CUDA(cudaMalloc(&in_root[pr], in_bytes[pr]));
    CHECK_CUDA(cudaMemcpy(in_root[pr], host.data(), in_bytes[pr], cudaMemcpyHostToDevice));
    const Place& opl = places[np + pr];
    out_bytes[pr] = static_cast<size_t>(batch * opl.root_image_elems() * elem_bytes(oe));
    CHECK_CUDA(cudaMalloc(&out_root[pr], out_bytes[pr]));
  }
  std::vector<View4> in_views, out_views;
  for (int pr = 0; pr < np; ++pr) {
    in_views.push_back(places[pr].view(in_root[pr], batch));
    out_views.push_back(places[np + pr].view(out_root[pr], batch));
  }

  // ---- expected values
  std::vector<std::vector<float>> expect(np);
  std::vector<std::vector<float>> tol(np);
  for (int pr = 0; pr < np; ++pr) {
    expect[pr].resize(acc[pr].size());
    tol[pr].resize(acc[pr].size());
    std::vector<float> mul, add;
    if (int8) int8_multipliers(sx[pr], sblob.f32, bias, graph.tensors[node.outputs[pr]], &mul, &add);
    for (size_t i = 0; i < acc[pr].size(); ++i) {
      const int64_t c = chan_of[i % out_vol];
      float v;
      if (int8) {
        // docs/int8.md, independently of the kernels: exact int32 sum, one fma, ReLU, saturate.
        const int32_t a = static_cast<int32_t>(std::llround(acc[pr][i]));
        const double m = oe == Elem::kI8 ? static_cast<double>(sx[pr]) * sblob.f32[c] / sy[pr]
                                         : static_cast<double>(sx[pr]) * sblob.f32[c];
        const double b = oe == Elem::kI8 ? static_cast<double>(bias[c]) / sy[pr] : bias[c];
        if (static_cast<float>(m) != mul[c] || static_cast<float>(b) != add[c]) {
          std::printf("FAIL  %s: int8_multipliers disagree with docs/int8.md at channel %lld\n", label.c_str(),
                      static_cast<long long>(c));
          ++stats->fail;
          return false;
        }
        v = std::fmaf(static_cast<float>(a), static_cast<float>(m), static_cast<float>(b));
        if (cs.relu) v = v > 0.0f ? v : v * cs.slope;
        if (oe == Elem::kI8) v = numeric::saturate_int8(v);
        tol[pr][i] = 0.0f;
      } else {
        double d = acc[pr][i] + bias[c];
        if (cs.relu) d = d > 0 ? d : d * cs.slope;
        v = static_cast<float>(d);
        float t = static_cast<float>(5e-5 * absum[pr][i] + 1e-6);
        if (precision == Precision::kFP16) {  // float16 values, whatever the output's storage
          v = numeric::round_to_half(v);
          t += std::fabs(v) * (1.0f / 1024.0f);
        }
        tol[pr][i] = t;
      }
      expect[pr][i] = v;
    }
  }

  // ---- every tactic
  bool all_ok = true;
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  void* workspace = nullptr;  // the im2col tactics' rows
  if (op->max_workspace_bytes(batch) > 0) CHECK_CUDA(cudaMalloc(&workspace, op->max_workspace_bytes(batch)));
  for (int t = 0; t < op->tactic_count(); ++t) {
    const std::string tname = op->tactic_name(t);
    st = op->set_tactic(t);
    for (int pr = 0; pr < np; ++pr) CHECK_CUDA(cudaMemset(out_root[pr], 0x55, out_bytes[pr]));
    RunArgs args{batch, in_views, out_views, stream, workspace};
    if (st.is_ok()) st = op->run(args);
    if (st.is_ok()) st = TRTN_CUDA_STATUS(cudaStreamSynchronize(stream));
    if (!st.is_ok()) {
      std::printf("FAIL  %s tactic %s: %s\n", label.c_str(), tname.c_str(), st.message().c_str());
      ++stats->fail;
      all_ok = false;
      if (st.code() == Code::kCuda) std::exit(3);  // a kernel fault poisons the context
      continue;
    }
    int bad = 0;
    double worst = 0;
    std::string first;
    for (int pr = 0; pr < np; ++pr) {
      const Place& opl = places[np + pr];
      std::vector<uint8_t> host(out_bytes[pr]);
      CHECK_CUDA(cudaMemcpy(host.data(), out_root[pr], out_bytes[pr], cudaMemcpyDeviceToHost));
      const int eb = elem_bytes(oe);
      const int64_t count = static_cast<int64_t>(out_bytes[pr] / eb);
      std::vector<char> seen(static_cast<size_t>(count), 0);
      auto note = [&](const std::string& what) {
        if (bad++ == 0) first = what;
      };
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t f = 0; f < out_vol; ++f) {
          const int64_t i = root_index(opl, n, f);
          seen[i] = 1;
          const float want = expect[pr][n * out_vol + f];
          float got;
          if (oe == Elem::kF32) {
            std::memcpy(&got, &host[i * 4], 4);
          } else if (oe == Elem::kF16) {
            uint16_t h;
            std::memcpy(&h, &host[i * 2], 2);
            got = numeric::half_bits_to_float(h);
          } else {
            got = static_cast<int8_t>(host[i]);
          }
          const bool ok = int8 ? std::memcmp(&got, &want, 4) == 0 || (got == 0.0f && want == 0.0f && oe == Elem::kI8)
                               : std::fabs(got - want) <= tol[pr][n * out_vol + f];
          if (!int8) worst = std::max(worst, static_cast<double>(std::fabs(got - want)));
          if (!ok) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "pair %d image %lld element %lld: got %.9g want %.9g (tol %.3g)", pr,
                          static_cast<long long>(n), static_cast<long long>(f), got, want, tol[pr][n * out_vol + f]);
            note(buf);
          }
        }
      for (int64_t i = 0; i < count; ++i) {
        if (seen[i]) continue;
        const int64_t ch = root_channel(opl, i);
        const bool padding = ch >= opl.c_offset + opl.c && ch < opl.c_offset + opl.c_write;
        bool ok = true;
        for (int b = 0; b < eb; ++b) ok = ok && host[i * eb + b] == (padding ? 0x00 : 0x55);
        if (!ok) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "pair %d root element %lld (channel %lld): %s was overwritten", pr,
                        static_cast<long long>(i), static_cast<long long>(ch),
                        padding ? "padding channel not zero" : "other tensor's channel");
          note(buf);
        }
      }
    }
    if (bad == 0) {
      ++stats->pass;
      if (!g_quiet) {
        std::printf("PASS  %s tactic %s%s", label.c_str(), tname.c_str(), t == op->tactic() ? "" : "");
        if (!int8) std::printf(" (max err %.3g)", worst);
        std::printf("\n");
      }
    } else {
      ++stats->fail;
      all_ok = false;
      std::printf("FAIL  %s tactic %s: %d bad elements; first: %s\n", label.c_str(), tname.c_str(), bad, first.c_str());
    }
  }
  // Leave the default tactic selected as the op chose it (not needed here, but tidy).
  CHECK_CUDA(cudaStreamDestroy(stream));
  if (workspace != nullptr) CHECK_CUDA(cudaFree(workspace));
  for (int pr = 0; pr < np; ++pr) {
    CHECK_CUDA(cudaFree(in_root[pr]));
    CHECK_CUDA(cudaFree(out_root[pr]));
  }
  return all_ok;
}

Case conv2d(const std::string& name, int batch, int64_t c, int64_t h, int64_t w, int64_t cout, int64_t k, int64_t stride,
            int64_t pad, int64_t group = 1, int64_t dil = 1) {
  Case cs;
  cs.name = name;
  cs.batch = batch;
  cs.in_dims = {c, h, w};
  cs.cout = cout;
  cs.group = group;
  cs.kernel = {k, k};
  cs.stride = {stride, stride};
  cs.pad = {pad, pad};
  cs.dil = {dil, dil};
  cs.in.layout = cs.out.layout = Layout::kNHWC;
  return cs;
}

std::vector<Case> fixed_cases() {
  std::vector<Case> v;
  Case c = conv2d("inception3x3", 2, 64, 14, 14, 96, 3, 1, 1);
  c.relu = true;
  v.push_back(c);
  c = conv2d("stem7x7s2", 2, 3, 30, 30, 64, 7, 2, 3);  // C = 3: the masked 16-byte chunk
  c.relu = true;
  v.push_back(c);
  c = conv2d("alexnet_conv2_g2", 1, 96, 13, 13, 128, 5, 1, 2, 2);
  v.push_back(c);
  c = conv2d("depthwise", 2, 32, 9, 11, 32, 3, 1, 1, 32);
  v.push_back(c);
  c = conv2d("dil2_s2_rect", 2, 16, 17, 13, 24, 3, 2, 1, 1, 2);
  c.kernel = {3, 1};
  c.pad = {1, 2};
  c.stride = {2, 1};
  v.push_back(c);
  c = conv2d("1x1_odd_out_nchw", 3, 48, 7, 7, 37, 1, 1, 0);
  c.out.layout = Layout::kLinear;
  c.relu = true;
  c.slope = 0.1f;
  v.push_back(c);
  c = conv2d("nchw_in_nchw_out", 2, 13, 10, 9, 21, 3, 1, 1);
  c.in.layout = c.out.layout = Layout::kLinear;
  v.push_back(c);
  c = conv2d("K_tail_c40", 3, 40, 9, 9, 70, 3, 1, 1);
  v.push_back(c);
  c = conv2d("out_slice_aligned", 2, 32, 8, 8, 40, 3, 1, 1);
  c.out.pre = 16;
  c.out.post = 24;
  v.push_back(c);
  c = conv2d("out_slice_unaligned_last", 2, 32, 8, 8, 29, 3, 1, 1);
  c.out.pre = 3;
  v.push_back(c);
  c = conv2d("in_slice", 2, 24, 8, 8, 40, 3, 1, 1);
  c.in.pre = 16;
  c.in.post = 8;
  v.push_back(c);
  c = conv2d("in_slice_unaligned", 2, 24, 8, 8, 40, 3, 1, 1);
  c.in.pre = 5;
  c.in.post = 3;
  v.push_back(c);
  c = conv2d("in_slice_odd_c", 2, 5, 8, 8, 24, 3, 1, 1);
  c.in.post = 11;
  v.push_back(c);
  c = conv2d("two_pairs", 2, 32, 9, 9, 48, 3, 2, 1);
  c.pairs = 2;
  c.relu = true;
  v.push_back(c);
  c = conv2d("big_tiles", 2, 64, 20, 20, 160, 3, 1, 1);
  v.push_back(c);
  {
    Case d;
    d.name = "conv1d";
    d.batch = 2;
    d.in_dims = {24, 50};
    d.cout = 20;
    d.kernel = {5};
    d.stride = {2};
    d.pad = {2};
    d.dil = {1};
    d.in.layout = d.out.layout = Layout::kNHWC;
    v.push_back(d);
    d.name = "conv3d";
    d.in_dims = {4, 5, 6, 7};
    d.cout = 6;
    d.group = 2;
    d.kernel = {3, 3, 2};
    d.stride = {1, 2, 1};
    d.pad = {1, 1, 0};
    d.dil = {1, 1, 2};
    d.in.layout = d.out.layout = Layout::kLinear;
    v.push_back(d);
  }
  {
    Case ip;
    ip.ip = true;
    ip.name = "ip_nhwc_image";
    ip.batch = 3;
    ip.in_dims = {64, 3, 3};
    ip.cout = 100;
    ip.in.layout = Layout::kNHWC;
    ip.out.layout = Layout::kNHWC;
    ip.relu = true;
    v.push_back(ip);
    ip.name = "ip_linear_flat_T";
    ip.in_dims = {30, 2, 5};
    ip.in.layout = Layout::kLinear;
    ip.out.layout = Layout::kLinear;
    ip.transpose = true;
    ip.cout = 33;
    v.push_back(ip);
    ip.name = "ip_vector";
    ip.in_dims = {256};
    ip.in.layout = Layout::kNHWC;
    ip.out.layout = Layout::kNHWC;
    ip.transpose = false;
    ip.cout = 130;
    v.push_back(ip);
    ip.name = "ip_axis2";
    ip.in_dims = {4, 40};
    ip.axis = 2;
    ip.cout = 20;
    ip.in.layout = ip.out.layout = Layout::kLinear;
    v.push_back(ip);
  }
  return v;
}

Case random_case(Rng& r, int id) {
  Case c;
  c.name = "random" + std::to_string(id);
  c.batch = r.uniform(1, 3);
  c.relu = r.chance(50);
  c.slope = r.chance(30) ? 0.1f : 0.0f;
  auto random_slice = [&](Slice* s) {
    s->layout = r.chance(65) ? Layout::kNHWC : Layout::kLinear;
    const int k = r.uniform(0, 9);
    s->pre = k < 6 ? 0 : k < 8 ? 16 : r.uniform(1, 7);
    s->post = r.chance(25) ? r.uniform(1, 20) : 0;
  };
  random_slice(&c.in);
  random_slice(&c.out);
  if (r.chance(12)) {
    c.ip = true;
    const int rank = r.uniform(1, 3);
    c.in_dims = {r.uniform(1, 80)};
    for (int i = 1; i < rank; ++i) c.in_dims.push_back(r.uniform(1, 5));
    c.cout = r.uniform(1, 90);
    c.transpose = r.chance(30);
    c.out.post = 0;  // InnerProduct outputs [N]: keep the root simple
    return c;
  }
  const int groups[] = {1, 1, 1, 1, 2, 3, 4};
  c.group = groups[r.uniform(0, 6)];
  const int cg_choices[] = {1, 3, 4, 8, 16, 24, 32, 5, 13};
  const int64_t cg = r.chance(50) ? cg_choices[r.uniform(0, 8)] : r.uniform(1, 40);
  const int64_t ng = r.uniform(1, 48);
  const bool one_d = r.chance(10);
  c.in_dims = {c.group * cg, r.uniform(1, 18)};
  if (!one_d) c.in_dims.push_back(r.uniform(1, 18));
  c.cout = c.group * ng;
  if (r.chance(10)) c.pairs = 2;
  for (size_t a = 0; a + 1 < c.in_dims.size(); ++a) {
    int64_t k = r.uniform(1, 5), d = r.chance(20) ? 2 : 1, p = r.uniform(0, 2), s = r.uniform(1, 3);
    while (d * (k - 1) + 1 > c.in_dims[a + 1] + 2 * p) {
      if (k > 1) {
        --k;
      } else {
        d = 1;
      }
    }
    c.kernel.push_back(k);
    c.dil.push_back(d);
    c.pad.push_back(p);
    c.stride.push_back(s);
  }
  return c;
}

// ---- benchmark ----------------------------------------------------------------------------------

void bench(const DeviceProps& dev, int batch) {
  struct Layer {
    const char* name;
    Case c;
  };
  std::vector<Layer> layers;
  layers.push_back({"googlenet conv1/7x7_s2", conv2d("", batch, 3, 224, 224, 64, 7, 2, 3)});
  layers.push_back({"googlenet conv2/3x3", conv2d("", batch, 64, 56, 56, 192, 3, 1, 1)});
  layers.push_back({"googlenet inception_3a/3x3", conv2d("", batch, 96, 28, 28, 128, 3, 1, 1)});
  layers.push_back({"googlenet inception_3a/1x1", conv2d("", batch, 192, 28, 28, 64, 1, 1, 0)});
  layers.push_back({"googlenet inception_4a/5x5_reduce", conv2d("", batch, 480, 14, 14, 16, 1, 1, 0)});
  layers.push_back({"googlenet inception_5b/3x3", conv2d("", batch, 192, 7, 7, 384, 3, 1, 1)});
  layers.push_back({"alexnet conv1", conv2d("", batch, 3, 227, 227, 96, 11, 4, 0)});
  layers.push_back({"alexnet conv2 (g2)", conv2d("", batch, 96, 27, 27, 256, 5, 1, 2, 2)});
  layers.push_back({"alexnet conv3", conv2d("", batch, 256, 13, 13, 384, 3, 1, 1)});
  {
    Case ip;
    ip.ip = true;
    ip.batch = batch;
    ip.in_dims = {256, 6, 6};
    ip.cout = 4096;
    ip.in.layout = ip.out.layout = Layout::kNHWC;
    layers.push_back({"alexnet fc6", ip});
  }
  const Prec precs[] = {Prec::kINT8, Prec::kFP16, Prec::kTF32, Prec::kFP32};
  Rng rng(1);
  for (const Layer& l : layers) {
    const Case& cs = l.c;
    const std::vector<int64_t> odims = out_dims_of(cs);
    const int64_t k_per_out = cs.ip ? volume(cs.in_dims) : cs.in_dims[0] / cs.group * volume(cs.kernel);
    const double macs = static_cast<double>(batch) * volume(odims) * k_per_out;
    for (Prec prec : precs) {
      const Precision precision = precision_of(prec);
      const bool int8 = precision == Precision::kINT8;
      const Elem ie = in_elem(prec), oe = out_elem(prec);
      Graph graph;
      graph.max_batch = batch;
      graph.precision = precision;
      TensorDesc tx{"x", cs.in_dims, int8 ? DType::kInt8 : DType::kFloat32, int8 ? 0.02f : 0.0f, volume(cs.in_dims)};
      TensorDesc ty{"y", odims, int8 ? DType::kInt8 : DType::kFloat32, int8 ? 0.05f : 0.0f, volume(odims)};
      graph.tensors = {tx, ty};
      Node node;
      node.name = "L";
      node.op = cs.ip ? "InnerProduct" : "Convolution";
      node.inputs = {0};
      node.outputs = {1};
      node.precision = precision;
      node.activation.relu = true;
      std::string attrs = "{\"numOutput\":" + std::to_string(cs.cout);
      if (!cs.ip) {
        attrs += ",\"kernel\":" + ints_json(cs.kernel) + ",\"stride\":" + ints_json(cs.stride) + ",\"pad\":" +
                 ints_json(cs.pad) + ",\"group\":" + std::to_string(cs.group);
      }
      json::parse(attrs + "}", &node.attrs);
      graph.nodes = {node};
      std::vector<int64_t> wdims = cs.ip ? std::vector<int64_t>{cs.cout, k_per_out}
                                         : std::vector<int64_t>{cs.cout, cs.in_dims[0] / cs.group, cs.kernel[0], cs.kernel[1]};
      Blob w, b, s;
      w.dims = wdims;
      b.dims = s.dims = {cs.cout};
      b.f32.assign(cs.cout, 0.1f);
      std::vector<float> raw(static_cast<size_t>(volume(wdims)));
      for (float& v : raw) v = rng.uniformf(-0.05f, 0.05f);
      if (int8) {
        w.dtype = DType::kInt8;
        quantize_per_channel(raw, wdims, 0, &w.i8, &s.f32);
      } else {
        w.f32 = raw;
      }
      WeightStore ws;
      ws.put("L/weights", w);
      ws.put("L/bias", b);
      if (int8) ws.put("L/wscale", s);
      std::vector<Place> places{make_place(0, cs.in_dims, cs.in, ie, tx.scale), make_place(1, odims, cs.out, oe, ty.scale)};
      OpInit oi{graph, graph.nodes[0], ws, "cuda"};
      CudaOpInit init{oi, places, dev};
      std::unique_ptr<CudaOp> op;
      Status st = cs.ip ? make_inner_product(init, &op) : make_convolution(init, &op);
      if (!st.is_ok()) {
        std::printf("%-34s %-5s init failed: %s\n", l.name, prec_name(prec), st.message().c_str());
        continue;
      }
      const size_t in_b = static_cast<size_t>(batch * places[0].root_image_elems() * elem_bytes(ie));
      const size_t out_b = static_cast<size_t>(batch * places[1].root_image_elems() * elem_bytes(oe));
      void *din = nullptr, *dout = nullptr;
      CHECK_CUDA(cudaMalloc(&din, in_b));
      CHECK_CUDA(cudaMalloc(&dout, out_b));
      CHECK_CUDA(cudaMemset(din, 0, in_b));
      {
        // Random-ish input bytes (valid values of every type: small magnitudes).
        std::vector<uint8_t> h(in_b);
        for (size_t i = 0; i < in_b; ++i) h[i] = static_cast<uint8_t>(rng.next() & 0x1F);
        if (ie == Elem::kF32) {
          for (size_t i = 0; i + 3 < in_b; i += 4) h[i + 3] = 0x3C;  // ~0.01
        } else if (ie == Elem::kF16) {
          for (size_t i = 0; i + 1 < in_b; i += 2) h[i + 1] = 0x20;
        }
        CHECK_CUDA(cudaMemcpy(din, h.data(), in_b, cudaMemcpyHostToDevice));
      }
      std::vector<View4> iv{places[0].view(din, batch)}, ov{places[1].view(dout, batch)};
      cudaStream_t stream;
      CHECK_CUDA(cudaStreamCreate(&stream));
      cudaEvent_t e0, e1;
      CHECK_CUDA(cudaEventCreate(&e0));
      CHECK_CUDA(cudaEventCreate(&e1));
      const int chosen = op->tactic();
      void* workspace = nullptr;
      if (op->max_workspace_bytes(batch) > 0) CHECK_CUDA(cudaMalloc(&workspace, op->max_workspace_bytes(batch)));
      for (int t = 0; t < op->tactic_count(); ++t) {
        op->set_tactic(t);
        RunArgs args{batch, iv, ov, stream, workspace};
        bool ok = true;
        for (int i = 0; i < 2 && ok; ++i) ok = op->run(args).is_ok();
        std::vector<float> times;
        for (int i = 0; i < 10 && ok; ++i) {
          CHECK_CUDA(cudaEventRecord(e0, stream));
          ok = op->run(args).is_ok();
          CHECK_CUDA(cudaEventRecord(e1, stream));
          CHECK_CUDA(cudaEventSynchronize(e1));
          float ms = 0;
          CHECK_CUDA(cudaEventElapsedTime(&ms, e0, e1));
          times.push_back(ms);
          if (op->tactic_name(t) == "direct" && ms > 50) break;  // enough samples of a slow one
        }
        if (!ok || times.empty()) {
          std::printf("%-34s %-5s %-24s failed\n", l.name, prec_name(prec), op->tactic_name(t).c_str());
          continue;
        }
        std::sort(times.begin(), times.end());
        const float med = times[times.size() / 2];
        std::printf("%-34s %-5s %-24s %9.4f ms %8.2f TMAC/s%s\n", l.name, prec_name(prec), op->tactic_name(t).c_str(), med,
                    macs / (med * 1e-3) / 1e12, t == chosen ? "  (default)" : "");
      }
      CHECK_CUDA(cudaEventDestroy(e0));
      CHECK_CUDA(cudaEventDestroy(e1));
      CHECK_CUDA(cudaStreamDestroy(stream));
      if (workspace != nullptr) CHECK_CUDA(cudaFree(workspace));
      CHECK_CUDA(cudaFree(din));
      CHECK_CUDA(cudaFree(dout));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int random_cases = 40;
  uint64_t seed = 12345;
  bool do_bench = false;
  int batch = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--random" && i + 1 < argc) {
      random_cases = std::atoi(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--bench") {
      do_bench = true;
    } else if (a == "--batch" && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else if (a == "--verbose") {
      g_verbose = true;
    } else if (a == "--quiet") {
      g_quiet = true;
    } else {
      std::fprintf(stderr, "usage: %s [--random N] [--seed S] [--bench [--batch B]] [--verbose] [--quiet]\n", argv[0]);
      return 2;
    }
  }
  int device = 0;
  CHECK_CUDA(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, device));
  DeviceProps dev;
  dev.index = device;
  dev.sm = prop.major * 10 + prop.minor;
  dev.multiprocessors = prop.multiProcessorCount;
  dev.shared_per_block_optin = prop.sharedMemPerBlockOptin;
  std::printf("device %d: %s, sm_%d, %d SMs, %zu bytes shared memory per block (opt-in)\n", device, prop.name, dev.sm,
              dev.multiprocessors, dev.shared_per_block_optin);
  if (do_bench) {
    bench(dev, batch);
    return 0;
  }
  std::vector<Case> cases = fixed_cases();
  Rng rng(seed);
  for (int i = 0; i < random_cases; ++i) cases.push_back(random_case(rng, i));
  Stats stats;
  for (const Case& c : cases) {
    for (Prec p : kAllPrecs) run_case(c, p, rng, dev, &stats);
  }
  std::printf("\n%d passed, %d failed (%zu cases x %zu precisions, every tactic)\n", stats.pass, stats.fail, cases.size(),
              sizeof(kAllPrecs) / sizeof(kAllPrecs[0]));
  return stats.fail == 0 ? 0 : 1;
}
