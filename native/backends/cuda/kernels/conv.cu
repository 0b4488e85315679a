// Convolution and InnerProduct for the cuda backend: the op (node checks, weight layout, tactics,
// launches). The kernels live in conv_mma.cu (tensor cores), conv_simt.cu (FFMA / DP4A) and
// conv_direct.cu (the fallback); conv_kernels.h is their interface. docs/cuda.md describes the
// tactics and their constraints.
//
// Semantics are the cpu backend's (backends/cpu/ops/conv.cc, inner_product.cc): Caffe convolution
// with groups, stride, padding and dilation over any number of spatial axes, several (input,
// output) pairs sharing the weights, bias and fused ReLU in the epilogue, the precisions of
// docs/engine.md and the exact INT8 arithmetic of docs/int8.md.
//
// An InnerProduct is run as a convolution: over a channels-last input [C, H, W] it is the
// convolution whose kernel is the whole H x W image (no padding, one output pixel); over a kLinear
// input it is a 1x1 convolution over K = C * H * W channels of a [rows, K, 1, 1] view (rows =
// batch times the dimensions before `axis`).
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/conv_kernels.h"
#include "backends/cuda/op.h"
#include "core/gemm_node.h"

namespace trtn::cuda {
namespace {

using conv::DirectParams;
using conv::GemmParams;
using conv::Math;
using conv::TileConfig;

// Dynamic shared memory a block may use without cudaFuncSetAttribute.
constexpr size_t kDefaultSmem = 48 * 1024;

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Math math_of(Precision p) {
  switch (p) {
    case Precision::kTF32: return Math::kTF32;
    case Precision::kFP16: return Math::kF16;
    case Precision::kINT8: return Math::kI8;
    default: return Math::kF32;
  }
}

/// The element type a node of this arithmetic reads.
Elem input_elem(Math m) { return m == Math::kF16 ? Elem::kF16 : m == Math::kI8 ? Elem::kI8 : Elem::kF32; }

const char* math_label(Math m) {
  switch (m) {
    case Math::kTF32: return "tf32";
    case Math::kF16: return "f16";
    case Math::kI8: return "i8";
    default: return "f32";
  }
}

const char* elem_label(Elem e) { return e == Elem::kF16 ? "f16" : e == Elem::kI8 ? "i8" : "f32"; }
const char* layout_label(Layout l) { return l == Layout::kNHWC ? "nhwc" : "linear"; }

/// True when `v` can be read `elems` channels at a time with aligned vector loads: channels
/// contiguous, data and pixel strides aligned, and every group starting on a vector (or a single
/// group, whose last vector the kernels mask).
bool channel_vectors_ok(const View4& v, int elems, int64_t cg, int64_t groups) {
  const int64_t bytes = static_cast<int64_t>(elems) * elem_bytes(v.elem);
  return v.sc == 1 && reinterpret_cast<uintptr_t>(v.data) % bytes == 0 && v.sn % elems == 0 && v.sh % elems == 0 &&
         v.sw % elems == 0 && (groups == 1 || cg % elems == 0);
}

/// A whole image of `v` is one dense block in (c, h, w) order.
bool image_contiguous(const View4& v) {
  return v.layout == Layout::kLinear && v.sw == 1 && v.sh == v.w && v.sc == static_cast<int64_t>(v.h) * v.w;
}

// kIm2col: explicit im2col into the workspace, then a 1x1 tensor-core GEMM (config: its mma tile).
enum class Kind { kMma, kSimt, kIm2col, kDirect };

/// Workspace one im2col pass may use; larger batches run in passes of fewer images.
constexpr int64_t kIm2colWorkspace = int64_t{192} << 20;

struct Tactic {
  Kind kind;
  int config;  // mma / simt tile configuration
  std::string name;
};

/// The op for a Convolution or InnerProduct node.
class GemmConvOp final : public CudaOp {
 public:
  Status init(const CudaOpInit& init, bool inner_product);
  Status run(const RunArgs& args) const override;
  int tactic_count() const override { return static_cast<int>(tactics_.size()); }
  std::string tactic_name(int i) const override {
    return i >= 0 && i < tactic_count() ? tactics_[i].name : std::string("?");
  }
  Status set_tactic(int i) override {
    if (i < 0 || i >= tactic_count()) {
      return Status(Code::kInvalidArgument, "convolution '" + name_ + "': no tactic " + std::to_string(i));
    }
    tactic_ = i;
    return Status::ok();
  }
  int tactic() const override { return tactic_; }
  std::string signature() const override { return signature_; }
  size_t workspace_bytes(int batch) const override {
    return tactics_[tactic_].kind == Kind::kIm2col ? max_workspace_bytes(batch) : 0;
  }
  size_t max_workspace_bytes(int batch) const override {
    if (!im2col_ok_) return 0;
    return static_cast<size_t>(std::min<int64_t>(batch, im2col_images_) * out_sp_[0] * out_sp_[1] * kc_pad_ *
                               conv::math_bytes(math_));
  }

 private:
  /// The node's prepared blobs and how its weights are stored.
  struct Blobs {
    const Blob* weights = nullptr;
    const Blob* bias = nullptr;
    const Blob* wscale = nullptr;
    bool transposed = false;  // InnerProduct weights [K][N]
  };
  Status init_convolution(const CudaOpInit& init, Blobs* blobs);
  Status init_inner_product(const CudaOpInit& init, Blobs* blobs);
  Status check_places(const CudaOpInit& init) const;
  Status upload_weights(const CudaOpInit& init, const Blob& w, bool transposed);
  Status upload_epilogues(const CudaOpInit& init, const Blob& bias, const Blob* wscale);
  Status choose_tactics(const CudaOpInit& init);
  int default_tactic(const CudaOpInit& init) const;
  /// The views the kernels read for one pair (InnerProduct over a kLinear input: [rows, K, 1, 1]).
  Status problem_views(const View4& in, const View4& out, View4* pin, View4* pout) const;
  GemmParams gemm_params(const View4& in, const View4& out, size_t pair) const;
  DirectParams direct_params(const View4& in, const View4& out, size_t pair) const;
  Status run_im2col(const View4& in, const View4& out, size_t pair, int config, const RunArgs& args) const;
  Status upload_im2col(const std::vector<int8_t>* i8, const std::vector<__half>* f16);
  conv::Epilogue epilogue(size_t pair) const;

  std::string name_;
  Math math_ = Math::kF32;
  Activation activation_;
  bool flatten_ = false;  // InnerProduct over a kLinear input
  int64_t rows_ = 1;      // InnerProduct: rows per image (dimensions before `axis`)
  // The convolution the kernels compute: `axes_` spatial axes (2 for View4 tensors: a 1-D
  // convolution has a unit second axis).
  int axes_ = 2;
  std::vector<int64_t> in_sp_, out_sp_, kernel_, stride_, pad_, dil_;
  int64_t cin_ = 0, cout_ = 0, groups_ = 1, cg_ = 0, ng_ = 0, cg_pad_ = 0, kvol_ = 1, ktot_ = 0;
  size_t pairs_ = 0;
  std::vector<Place> in_places_, out_places_;
  DeviceBuffer weights_;  // [Cout][kvol][Cg_pad]
  DeviceBuffer ktab_;     // SIMT: per 4 k, (r * dil_h, s * dil_w, c, 0)
  DeviceBuffer epi_;      // float: bias [Cout]; INT8: per pair mul [Cout] then add [Cout]
  // im2col (few input channels, one group, FP16 / INT8): rows of K = kvol * Cg values.
  bool im2col_ok_ = false;
  int64_t kc_pad_ = 0, im2col_images_ = 1;
  DeviceBuffer im2col_weights_;  // [Cout][kc_pad], k = kpos * Cg + c
  std::vector<Tactic> tactics_;
  int tactic_ = 0;
  std::string signature_;
};

Status GemmConvOp::init(const CudaOpInit& init, bool inner_product) {
  const OpInit& node = init.node;
  name_ = node.node.name;
  math_ = math_of(node.node.precision);
  activation_ = node.node.activation;
  Status st = check_gemm_dtypes(node);
  if (!st.is_ok()) return st;
  Blobs blobs;
  st = inner_product ? init_inner_product(init, &blobs) : init_convolution(init, &blobs);
  if (!st.is_ok()) return st;
  // Cg_pad: the group's channels rounded up to 16 bytes of the weight type (the tensor-core
  // chunk; a multiple of 4 for the SIMT groups of k).
  cg_pad_ = round_up(cg_, 16 / conv::math_bytes(math_));
  ktot_ = kvol_ * cg_pad_;
  if (ktot_ > INT_MAX / 2 || cout_ > INT_MAX / 2 || cout_ * ktot_ > (int64_t{1} << 40)) {
    return node.error("is too large for the cuda kernels (K = " + std::to_string(ktot_) + ")");
  }
  if (!(st = check_places(init)).is_ok()) return st;
  // im2col pays where padding the channels to 16 bytes at least doubles the multiply-adds; its
  // kernel reads each pixel's (at most 4) channels as one pack of a channels-last input.
  im2col_ok_ = axes_ == 2 && !flatten_ && groups_ == 1 && (math_ == Math::kF16 || math_ == Math::kI8) &&
               cg_ <= 4 && cg_pad_ >= 2 * cg_ && init.device.sm >= 80;
  for (size_t i = 0; i < pairs_ && im2col_ok_; ++i) {
    const Place& ip = init.in_place(i);
    im2col_ok_ = ip.layout == Layout::kNHWC && ip.c_offset % 4 == 0 && ip.root_c % 4 == 0;
  }
  if (im2col_ok_) {
    kc_pad_ = round_up(kvol_ * cg_, 16 / conv::math_bytes(math_));
    const int64_t per_image = out_sp_[0] * out_sp_[1] * kc_pad_ * conv::math_bytes(math_);
    im2col_images_ = std::max<int64_t>(1, kIm2colWorkspace / std::max<int64_t>(1, per_image));
  }
  if (!(st = upload_weights(init, *blobs.weights, blobs.transposed)).is_ok()) return st;
  if (!(st = upload_epilogues(init, *blobs.bias, blobs.wscale)).is_ok()) return st;
  if (!(st = choose_tactics(init)).is_ok()) return st;

  std::string s = std::string(inner_product ? "InnerProduct" : "Convolution") + " " + math_label(math_) +
                  (flatten_ ? " flat" : "") + " g" + std::to_string(groups_) + " c" + std::to_string(cin_) + " o" +
                  std::to_string(cout_) + " in";
  for (int64_t d : in_sp_) s += "x" + std::to_string(d);
  s += " k";
  for (int64_t d : kernel_) s += "x" + std::to_string(d);
  s += " s";
  for (int64_t d : stride_) s += "x" + std::to_string(d);
  s += " p";
  for (int64_t d : pad_) s += "x" + std::to_string(d);
  s += " d";
  for (int64_t d : dil_) s += "x" + std::to_string(d);
  for (size_t i = 0; i < pairs_; ++i) {
    s += std::string(" ") + layout_label(in_places_[i].layout) + "/" + elem_label(in_places_[i].elem) + "/" +
         std::to_string(in_places_[i].root_c) + "+" + std::to_string(in_places_[i].c_offset) + "->" +
         layout_label(out_places_[i].layout) + "/" + elem_label(out_places_[i].elem);
  }
  signature_ = s + " sm" + std::to_string(init.device.sm);
  return set_tactic(default_tactic(init));
}

Status GemmConvOp::init_convolution(const CudaOpInit& init, Blobs* blobs) {
  const OpInit& node = init.node;
  ConvGeometry geo;
  Status st = read_conv_geometry(node, false, &geo);
  if (!st.is_ok()) return st;
  pairs_ = node.node.inputs.size();
  cin_ = geo.channels_in;
  cout_ = geo.channels_out;
  groups_ = geo.group;
  cg_ = cin_ / groups_;
  ng_ = cout_ / groups_;
  const size_t axes = geo.kernel.size();
  in_sp_ = geo.in;
  out_sp_ = geo.out;
  kernel_ = geo.kernel;
  stride_ = geo.stride;
  pad_ = geo.pad;
  dil_ = geo.dilation;
  if (axes == 1) {  // [C, L] is the View4 [C, L, 1]
    in_sp_.push_back(1);
    out_sp_.push_back(1);
    kernel_.push_back(1);
    stride_.push_back(1);
    pad_.push_back(0);
    dil_.push_back(1);
  }
  axes_ = static_cast<int>(in_sp_.size());
  kvol_ = geo.kernel_volume;

  std::vector<int64_t> wdims{cout_, cg_};
  wdims.insert(wdims.end(), geo.kernel.begin(), geo.kernel.end());
  return find_gemm_blobs(node, wdims, cout_, &blobs->weights, &blobs->bias, &blobs->wscale);
}

Status GemmConvOp::init_inner_product(const CudaOpInit& init, Blobs* blobs) {
  const OpInit& node = init.node;
  Status st = node.expect_io(1, 1);
  if (!st.is_ok()) return st;
  pairs_ = 1;
  const json::Value& attrs = node.node.attrs;
  int64_t axis = 1, input_size = -1, n = 0;
  bool transpose = false;
  if (!(st = node.attr_int("numOutput", &n)).is_ok()) return st;
  if (attrs.has("axis") && !(st = node.attr_int("axis", &axis)).is_ok()) return st;
  if (attrs.has("transpose") && !(st = node.attr_bool("transpose", &transpose)).is_ok()) return st;
  if (attrs.has("inputSize") && !(st = node.attr_int("inputSize", &input_size)).is_ok()) return st;
  if (n < 1) return node.error("numOutput must be >= 1");

  // As the cpu backend reads it: the batch is dimension 0 and stays a row index.
  const std::vector<int64_t>& in = node.input(0).dims;
  const int64_t rank = static_cast<int64_t>(in.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 1 || axis >= rank) {
    return node.error("axis must be in [1, " + std::to_string(rank - 1) + "] for an input of " + std::to_string(rank) +
                      " dimensions (with the batch)");
  }
  int64_t k = 1;
  for (int64_t i = axis - 1; i < rank - 1; ++i) k *= in[i];
  rows_ = 1;
  std::vector<int64_t> want;
  for (int64_t i = 0; i < axis - 1; ++i) {
    rows_ *= in[i];
    want.push_back(in[i]);
  }
  want.push_back(n);
  if (input_size >= 0 && input_size != k) {
    return node.error("inputSize " + std::to_string(input_size) + " does not match the " + std::to_string(k) +
                      " input values per row");
  }
  if (node.output(0).dims != want) return node.error("output '" + node.output(0).name + "' has the wrong shape");

  cout_ = n;
  ng_ = n;
  groups_ = 1;
  const Place& ip = init.in_place(0);
  flatten_ = !(axis == 1 && in.size() <= 3 && ip.layout == Layout::kNHWC);
  if (flatten_) {
    cin_ = cg_ = k;
    in_sp_ = out_sp_ = kernel_ = stride_ = dil_ = {1, 1};
    pad_ = {0, 0};
    kvol_ = 1;
  } else {
    // The whole image is the kernel: [C], [C, H] and [C, H, W] are the View4 [C, H, W].
    cin_ = cg_ = in[0];
    in_sp_ = {in.size() > 1 ? in[1] : 1, in.size() > 2 ? in[2] : 1};
    kernel_ = in_sp_;
    out_sp_ = stride_ = dil_ = {1, 1};
    pad_ = {0, 0};
    kvol_ = in_sp_[0] * in_sp_[1];
  }
  axes_ = 2;

  const std::vector<int64_t> wdims = transpose ? std::vector<int64_t>{k, n} : std::vector<int64_t>{n, k};
  blobs->transposed = transpose;
  return find_gemm_blobs(node, wdims, n, &blobs->weights, &blobs->bias, &blobs->wscale);
}

Status GemmConvOp::check_places(const CudaOpInit& init) const {
  const OpInit& node = init.node;
  const Elem want_in = input_elem(math_);
  for (size_t i = 0; i < pairs_; ++i) {
    const Place& ip = init.in_place(i);
    const Place& op = init.out_place(i);
    if (ip.elem != want_in) {
      return node.error(std::string("input '") + node.input(i).name + "' is stored as " + elem_label(ip.elem) + ", " +
                        precision_name(node.node.precision) + " reads " + elem_label(want_in));
    }
    const bool int8_out = node.output(i).dtype == DType::kInt8;
    const bool out_ok = int8_out ? op.elem == Elem::kI8
                                 : op.elem == Elem::kF32 || (op.elem == Elem::kF16 && math_ != Math::kI8);
    if (!out_ok) {
      return node.error(std::string("output '") + node.output(i).name + "' cannot be stored as " + elem_label(op.elem));
    }
    if (axes_ > 2 || flatten_) {
      if (ip.layout != Layout::kLinear) {
        return node.error(std::string("input '") + node.input(i).name + "' must be kLinear for this form");
      }
    }
    if (axes_ > 2 && op.layout != Layout::kLinear) {
      return node.error(std::string("output '") + node.output(i).name + "' must be kLinear for 3-D convolutions");
    }
    if (flatten_ && rows_ > 1 && op.layout != Layout::kLinear) {
      return node.error(std::string("output '") + node.output(i).name + "' must be kLinear (rows per image > 1)");
    }
  }
  return Status::ok();
}

Status GemmConvOp::upload_weights(const CudaOpInit& init, const Blob& w, bool transposed) {
  const int64_t k_src = cg_ * kvol_;  // the blob's values per output channel
  // Value (co, c, kpos) of the blob: [Cout][Cg][kernel...], or InnerProduct [N][K] / [K][N] with
  // k = c * kvol + kpos (the (c, h, w) order of the flattened input).
  auto src_index = [&](int64_t co, int64_t c, int64_t kpos) {
    const int64_t k = c * kvol_ + kpos;
    return transposed ? k * cout_ + co : co * k_src + k;
  };
  const size_t count = static_cast<size_t>(cout_ * ktot_);
  Status st;
  try {
    if (math_ == Math::kI8) {
      std::vector<int8_t> dst(count, 0);
      for (int64_t co = 0; co < cout_; ++co)
        for (int64_t kp = 0; kp < kvol_; ++kp)
          for (int64_t c = 0; c < cg_; ++c) dst[(co * kvol_ + kp) * cg_pad_ + c] = w.i8[src_index(co, c, kp)];
      st = weights_.upload(dst, name_ + " weights");
      if (st.is_ok() && im2col_ok_) st = upload_im2col(&dst, nullptr);
    } else if (math_ == Math::kF16) {
      std::vector<__half> dst(count, __float2half_rn(0.0f));
      for (int64_t co = 0; co < cout_; ++co)
        for (int64_t kp = 0; kp < kvol_; ++kp)
          for (int64_t c = 0; c < cg_; ++c) dst[(co * kvol_ + kp) * cg_pad_ + c] = __float2half_rn(w.f32[src_index(co, c, kp)]);
      st = weights_.upload(dst, name_ + " weights");
      if (st.is_ok() && im2col_ok_) st = upload_im2col(nullptr, &dst);
    } else {
      std::vector<float> dst(count, 0.0f);
      for (int64_t co = 0; co < cout_; ++co)
        for (int64_t kp = 0; kp < kvol_; ++kp)
          for (int64_t c = 0; c < cg_; ++c) dst[(co * kvol_ + kp) * cg_pad_ + c] = w.f32[src_index(co, c, kp)];
      st = weights_.upload(dst, name_ + " weights");
    }
    if (!st.is_ok() || axes_ > 2) return st;
    // The SIMT kernels' table of K groups (2-D form).
    const int64_t s_ext = kernel_[1];
    std::vector<int4> tab(static_cast<size_t>(ktot_ / 4));
    for (int64_t k4 = 0; k4 < ktot_ / 4; ++k4) {
      const int64_t k = 4 * k4;
      const int64_t rs = k / cg_pad_;
      tab[k4] = make_int4(static_cast<int>(rs / s_ext * dil_[0]), static_cast<int>(rs % s_ext * dil_[1]),
                          static_cast<int>(k % cg_pad_), 0);
    }
    return ktab_.upload(tab, name_ + " K table");
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "convolution '" + name_ + "': out of host memory preparing weights");
  }
}

Status GemmConvOp::upload_im2col(const std::vector<int8_t>* i8, const std::vector<__half>* f16) {
  // From the padded [Cout][kvol][Cg_pad] copy: row co holds (kpos, c) at kpos * Cg + c.
  auto repack = [&](const auto& src, auto zero) {
    std::vector<decltype(zero)> dst(static_cast<size_t>(cout_ * kc_pad_), zero);
    for (int64_t co = 0; co < cout_; ++co)
      for (int64_t kp = 0; kp < kvol_; ++kp)
        for (int64_t c = 0; c < cg_; ++c) dst[co * kc_pad_ + kp * cg_ + c] = src[(co * kvol_ + kp) * cg_pad_ + c];
    return dst;
  };
  return i8 != nullptr ? im2col_weights_.upload(repack(*i8, int8_t{0}), name_ + " im2col weights")
                       : im2col_weights_.upload(repack(*f16, __float2half_rn(0.0f)), name_ + " im2col weights");
}

Status GemmConvOp::run_im2col(const View4& in, const View4& out, size_t pair, int config, const RunArgs& args) const {
  const int64_t eb = conv::math_bytes(math_);
  const int64_t pq = static_cast<int64_t>(out.h) * out.w;
  for (int n0 = 0; n0 < in.n; n0 += static_cast<int>(im2col_images_)) {
    const int nb = static_cast<int>(std::min<int64_t>(im2col_images_, in.n - n0));
    // The rows of images [n0, n0 + nb), then those rows as a channels-last [nb, kc_pad, P, Q]
    // input of a 1x1 convolution.
    View4 i = in;
    i.data = static_cast<char*>(in.data) + n0 * in.sn * eb;
    i.n = nb;
    View4 o = out;
    o.data = static_cast<char*>(out.data) + n0 * out.sn * elem_bytes(out.elem);
    o.n = nb;
    GemmParams p = gemm_params(i, o, pair);
    Status st = conv::im2col_launch(math_, p, static_cast<int>(kc_pad_), args.workspace, args.stream);
    if (!st.is_ok()) return st;
    p.in = args.workspace;
    p.in_sw = kc_pad_;
    p.in_sh = out.w * kc_pad_;
    p.in_sn = pq * kc_pad_;
    p.in_sc = 1;
    p.H = out.h;
    p.W = out.w;
    p.R = p.S = 1;
    p.stride_h = p.stride_w = 1;
    p.pad_h = p.pad_w = 0;
    p.dil_h = p.dil_w = 1;
    p.Cg = p.Cg_pad = p.Ktot = static_cast<int>(kc_pad_);
    p.weights = im2col_weights_.get();
    st = conv::mma_launch(math_, config, p, args.stream);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

Status GemmConvOp::upload_epilogues(const CudaOpInit& init, const Blob& bias, const Blob* wscale) {
  if (math_ != Math::kI8) return epi_.upload(bias.f32, name_ + " bias");
  std::vector<float> all;
  for (size_t i = 0; i < pairs_; ++i) {
    std::vector<float> mul, add;
    int8_multipliers(init.node.input(i).scale, wscale->f32, bias.f32, init.node.output(i), &mul, &add);
    all.insert(all.end(), mul.begin(), mul.end());
    all.insert(all.end(), add.begin(), add.end());
  }
  return epi_.upload(all, name_ + " INT8 multipliers");
}

Status GemmConvOp::choose_tactics(const CudaOpInit& init) {
  const DeviceProps& dev = init.device;
  in_places_.clear();
  out_places_.clear();
  for (size_t i = 0; i < pairs_; ++i) {
    in_places_.push_back(init.in_place(i));
    out_places_.push_back(init.out_place(i));
  }
  int max_out_eb = 1;
  for (const Place& p : out_places_) max_out_eb = std::max(max_out_eb, elem_bytes(p.elem));
  const size_t smem_limit = std::max(dev.shared_per_block_optin, kDefaultSmem);
  tactics_.clear();

  // Tensor cores: sm_80+, a tensor-core arithmetic, every input channels-contiguous with 16-byte
  // chunks (judged on views at an aligned base address; run() checks the real ones).
  bool mma_ok = axes_ == 2 && math_ != Math::kF32 && dev.sm >= 80;
  for (size_t i = 0; i < pairs_ && mma_ok; ++i) {
    const View4 nominal = in_places_[i].view(reinterpret_cast<void*>(uintptr_t{256}), 1);
    View4 in, out;
    const View4 nominal_out = out_places_[i].view(reinterpret_cast<void*>(uintptr_t{256}), 1);
    mma_ok = problem_views(nominal, nominal_out, &in, &out).is_ok() &&
             channel_vectors_ok(in, 16 / conv::math_bytes(math_), cg_, groups_);
  }
  // Lists a family's tiles whose shared memory fits the device. A kernel's shared-memory limit is
  // process-wide, so every op raises it to the same value (what a float32 output, the largest
  // staging, needs, capped by the device) and ops never lower it under one another.
  auto add_tiles = [&](Kind kind, int count, auto smem_of, auto prepare, const std::string& prefix, bool stages) {
    for (int c = 0; c < count; ++c) {
      if ((kind == Kind::kMma || kind == Kind::kIm2col) && !conv::mma_config_offered(math_, c)) continue;
      if (smem_of(c, max_out_eb) > smem_limit) continue;
      const size_t most = std::min(smem_of(c, 4), smem_limit);
      if (most > kDefaultSmem) {
        Status st = prepare(c, most);
        if (!st.is_ok()) return st;
      }
      const TileConfig t = kind == Kind::kSimt ? conv::simt_config(math_, c) : conv::mma_config(math_, c);
      tactics_.push_back({kind, c,
                          prefix + "_" + std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" + std::to_string(t.bk) +
                              (stages ? "_s" + std::to_string(t.stages) : std::string())});
    }
    return Status::ok();
  };
  Status st;
  if (mma_ok) {
    st = add_tiles(
        Kind::kMma, conv::mma_config_count(), [](int c, int eb) { return conv::mma_smem_bytes(c, eb); },
        [&](int c, size_t smem) { return conv::mma_prepare(math_, c, smem); }, std::string("mma_") + math_label(math_),
        true);
    if (!st.is_ok()) return st;
  }
  if (mma_ok && im2col_ok_) {
    st = add_tiles(
        Kind::kIm2col, conv::mma_config_count(), [](int c, int eb) { return conv::mma_smem_bytes(c, eb); },
        [&](int c, size_t smem) { return conv::mma_prepare(math_, c, smem); },
        std::string("im2col_mma_") + math_label(math_), true);
    if (!st.is_ok()) return st;
  }
  // SIMT implicit GEMM: any 2-D view. Listed for FP32, for INT8 (DP4A, next to the tensor cores)
  // and for TF32 / FP16 where the tensor cores are not available.
  if (axes_ == 2 && (math_ == Math::kF32 || math_ == Math::kI8 || !mma_ok)) {
    st = add_tiles(
        Kind::kSimt, conv::simt_config_count(), [&](int c, int eb) { return conv::simt_smem_bytes(math_, c, eb); },
        [&](int c, size_t smem) { return conv::simt_prepare(math_, c, smem); },
        math_ == Math::kI8 ? std::string("dp4a") : std::string("simt_") + math_label(math_), false);
    if (!st.is_ok()) return st;
  }
  tactics_.push_back({Kind::kDirect, 0, "direct"});
  return Status::ok();
}

int GemmConvOp::default_tactic(const CudaOpInit& init) const {
  // The fastest kind present (tensor cores, then SIMT), and within it the tile with the least
  // estimated time at the engine's largest batch: waves of CTAs over the multiprocessors, each
  // wave costing its tiles' area (the K loop is the same for every tile).
  const Kind kind = tactics_.front().kind;
  const int sms = std::max(1, init.device.multiprocessors);
  const int64_t m = static_cast<int64_t>(std::max(1, init.node.graph.max_batch)) * rows_ * out_sp_[0] * out_sp_[1];
  int best = static_cast<int>(tactics_.size()) - 1;
  double best_cost = 0;
  for (size_t i = 0; i < tactics_.size(); ++i) {
    const Tactic& t = tactics_[i];
    if (t.kind != kind || kind == Kind::kDirect) continue;
    const TileConfig c = kind == Kind::kSimt ? conv::simt_config(math_, t.config) : conv::mma_config(math_, t.config);
    const int64_t ctas = ceil_div(m, c.bm) * ceil_div(ng_, c.bn) * groups_;
    const double cost = static_cast<double>(ceil_div(ctas, sms)) * c.bm * c.bn;
    if (best == static_cast<int>(tactics_.size()) - 1 || cost < best_cost) {
      best = static_cast<int>(i);
      best_cost = cost;
    }
  }
  return best;
}

Status GemmConvOp::problem_views(const View4& in, const View4& out, View4* pin, View4* pout) const {
  *pin = in;
  *pout = out;
  if (!flatten_) return Status::ok();
  // InnerProduct over a kLinear input: each row is K contiguous values, a pixel of K channels.
  if (!image_contiguous(in) || (rows_ > 1 && (in.sn != in.image_volume() || !out.dense_nchw()))) {
    return Status(Code::kInternal, "inner product '" + name_ + "': input or output view is not contiguous");
  }
  const int64_t n = static_cast<int64_t>(in.n) * rows_;
  if (n > INT_MAX) return Status(Code::kInvalidArgument, "inner product '" + name_ + "': too many rows");
  pin->n = static_cast<int32_t>(n);
  pin->c = static_cast<int32_t>(cin_);
  pin->h = pin->w = 1;
  pin->c_write = pin->c;
  pin->sn = rows_ > 1 ? cin_ : in.sn;
  pin->sc = 1;
  pin->sh = pin->sw = 0;
  if (rows_ > 1) {
    pout->n = static_cast<int32_t>(n);
    pout->c = pout->c_write = static_cast<int32_t>(cout_);
    pout->h = pout->w = 1;
    pout->sn = cout_;
    pout->sc = 1;
    pout->sh = pout->sw = 0;
  }
  return Status::ok();
}

conv::Epilogue GemmConvOp::epilogue(size_t pair) const {
  conv::Epilogue e;
  const float* base = epi_.as<float>();
  if (math_ == Math::kI8) {
    e.mul = base + 2 * pair * cout_;
    e.add = e.mul + cout_;
  } else {
    e.add = base;
  }
  e.relu = activation_.relu ? 1 : 0;
  e.slope = activation_.negative_slope;
  e.round_half = math_ == Math::kF16 ? 1 : 0;
  return e;
}

GemmParams GemmConvOp::gemm_params(const View4& in, const View4& out, size_t pair) const {
  GemmParams p;
  p.in = in.data;
  p.in_sn = in.sn;
  p.in_sc = in.sc;
  p.in_sh = in.sh;
  p.in_sw = in.sw;
  p.H = in.h;
  p.W = in.w;
  p.P = out.h;
  p.Q = out.w;
  p.M = static_cast<int>(static_cast<int64_t>(in.n) * out.h * out.w);
  p.R = static_cast<int>(kernel_[0]);
  p.S = static_cast<int>(kernel_[1]);
  p.stride_h = static_cast<int>(stride_[0]);
  p.stride_w = static_cast<int>(stride_[1]);
  p.pad_h = static_cast<int>(pad_[0]);
  p.pad_w = static_cast<int>(pad_[1]);
  p.dil_h = static_cast<int>(dil_[0]);
  p.dil_w = static_cast<int>(dil_[1]);
  p.G = static_cast<int>(groups_);
  p.Cg = static_cast<int>(cg_);
  p.Ng = static_cast<int>(ng_);
  p.Cg_pad = static_cast<int>(cg_pad_);
  p.Ktot = static_cast<int>(ktot_);
  p.weights = weights_.get();
  p.ktab = ktab_.as<const int4>();
  p.K4 = static_cast<int>(ktot_ / 4);
  p.vec_in = channel_vectors_ok(in, 4, cg_, groups_) ? 1 : 0;
  p.m_fastest = p.vec_in ? 0 : 1;
  p.round_tf32 = math_ == Math::kTF32 ? 1 : 0;
  p.epi = epilogue(pair);
  p.out = out.data;
  p.out_elem = out.elem;
  p.out_eb = elem_bytes(out.elem);
  p.out_sn = out.sn;
  p.out_sc = out.sc;
  p.out_sh = out.sh;
  p.out_sw = out.sw;
  p.out_c = out.c;
  p.out_cwrite = out.c_write;
  const int ve = 16 / p.out_eb;
  p.out_vec = out.sc == 1 && reinterpret_cast<uintptr_t>(out.data) % 16 == 0 && out.sn % ve == 0 && out.sh % ve == 0 &&
              out.sw % ve == 0;
  return p;
}

DirectParams GemmConvOp::direct_params(const View4& in, const View4& out, size_t pair) const {
  DirectParams p;
  p.axes = axes_;
  p.in = in.data;
  p.in_sn = in.sn;
  p.out = out.data;
  p.out_elem = out.elem;
  p.out_layout = out.layout;
  p.out_sn = out.sn;
  p.batch = in.n;
  p.c_write = out.c_write;
  if (axes_ == 2) {
    p.in_sc = in.sc;
    p.out_sc = out.sc;
    p.in_stride[0] = in.sh;
    p.in_stride[1] = in.sw;
    p.out_stride[0] = out.sh;
    p.out_stride[1] = out.sw;
  } else {
    // Whole kLinear tensors: dense (c, spatial...) per image.
    int64_t is = 1, os = 1;
    for (int a = axes_ - 1; a >= 0; --a) {
      p.in_stride[a] = is;
      p.out_stride[a] = os;
      is *= in_sp_[a];
      os *= out_sp_[a];
    }
    p.in_sc = is;
    p.out_sc = os;
  }
  for (int a = 0; a < axes_; ++a) {
    p.in_dims[a] = static_cast<int>(a < 2 && axes_ == 2 ? (a == 0 ? in.h : in.w) : in_sp_[a]);
    p.out_dims[a] = static_cast<int>(a < 2 && axes_ == 2 ? (a == 0 ? out.h : out.w) : out_sp_[a]);
    p.kernel[a] = static_cast<int>(kernel_[a]);
    p.stride[a] = static_cast<int>(stride_[a]);
    p.pad[a] = static_cast<int>(pad_[a]);
    p.dil[a] = static_cast<int>(dil_[a]);
  }
  p.out_vol = 1;
  for (int a = 0; a < axes_; ++a) p.out_vol *= p.out_dims[a];
  p.G = static_cast<int>(groups_);
  p.Cg = static_cast<int>(cg_);
  p.Ng = static_cast<int>(ng_);
  p.Cout = static_cast<int>(cout_);
  p.Cg_pad = static_cast<int>(cg_pad_);
  p.kvol = static_cast<int>(kvol_);
  p.weights = weights_.get();
  p.round_tf32 = math_ == Math::kTF32 ? 1 : 0;
  p.epi = epilogue(pair);
  return p;
}

Status GemmConvOp::run(const RunArgs& args) const {
  if (args.in.size() != pairs_ || args.out.size() != pairs_ || args.batch < 1) {
    return Status(Code::kInvalidArgument, "convolution '" + name_ + "': bad buffers or batch");
  }
  const Tactic& tactic = tactics_[tactic_];
  for (size_t i = 0; i < pairs_; ++i) {
    View4 in, out;
    Status st = problem_views(args.in[i], args.out[i], &in, &out);
    if (!st.is_ok()) return st;
    // The views must be the node's shapes (the planner's places); catch a mismatch here rather
    // than read out of bounds.
    bool shapes_ok = in.c == cin_ && out.c == cout_ && out.c_write >= out.c && in.n == out.n &&
                     in.elem == input_elem(math_) && out.elem == out_places_[i].elem;
    if (axes_ == 2) {
      shapes_ok = shapes_ok && in.h == in_sp_[0] && in.w == in_sp_[1] && out.h == out_sp_[0] && out.w == out_sp_[1];
    } else {
      int64_t iv = 1, ov = 1;
      for (int a = 0; a < axes_; ++a) {
        iv *= in_sp_[a];
        ov *= out_sp_[a];
      }
      shapes_ok = shapes_ok && image_contiguous(in) && image_contiguous(out) &&
                  static_cast<int64_t>(in.h) * in.w == iv && static_cast<int64_t>(out.h) * out.w == ov &&
                  out.c_write == out.c;
    }
    if (!shapes_ok) return Status(Code::kInternal, "convolution '" + name_ + "': views do not match the node's shapes");
    if (axes_ == 2 && static_cast<int64_t>(in.n) * out.h * out.w > INT_MAX - 256) {
      return Status(Code::kInvalidArgument, "convolution '" + name_ + "': too many output pixels for one launch");
    }

    if (tactic.kind == Kind::kMma && channel_vectors_ok(in, 16 / conv::math_bytes(math_), cg_, groups_)) {
      st = conv::mma_launch(math_, tactic.config, gemm_params(in, out, i), args.stream);
    } else if (tactic.kind == Kind::kIm2col && args.workspace != nullptr && in.sc == 1 &&
               reinterpret_cast<uintptr_t>(in.data) % (4 * conv::math_bytes(math_)) == 0 && in.sn % 4 == 0 &&
               in.sh % 4 == 0 && in.sw % 4 == 0) {
      st = run_im2col(in, out, i, tactic.config, args);
    } else if (tactic.kind == Kind::kSimt) {
      st = conv::simt_launch(math_, tactic.config, gemm_params(in, out, i), args.stream);
    } else {
      // The direct kernel, also for a pair whose real view breaks what the tensor-core tactic
      // was chosen for (never expected: the places were checked at init).
      st = conv::direct_launch(math_, direct_params(in, out, i), args.stream);
    }
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

Status make_gemm_conv(const CudaOpInit& init, bool inner_product, std::unique_ptr<CudaOp>* out) {
  try {
    auto op = std::make_unique<GemmConvOp>();
    Status st = op->init(init, inner_product);
    if (!st.is_ok()) return st;
    *out = std::move(op);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "convolution '" + init.node.node.name + "': out of host memory");
  }
  return Status::ok();
}

}  // namespace

Status make_convolution(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make_gemm_conv(init, false, out); }

Status make_inner_product(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make_gemm_conv(init, true, out);
}

}  // namespace trtn::cuda
