// Convolution and InnerProduct for the cuda backend: the op (node checks, the shared weight layout,
// tactics, launches). The kernels come in families, each one file with one descriptor
// (conv_family.h): conv_gemv.cu (InnerProduct at a few rows), conv_stem.cu (at most 4 input
// channels, tensor cores), conv_mma.cu (tensor cores), conv_im2col.cu (im2col + tensor cores, few
// input channels), conv_simt.cu (FFMA / DP4A) and conv_direct.cu (the fallback); this file walks
// the table kFamilies and switches on none of them. docs/cuda.md describes the tactics and their
// constraints.
//
// TRTN_CUDA_FORCE_TACTIC (internal, for tests): a tactic name, or #<index> into a node's list,
// leaves each convolution that offers it that one tactic (the builder then times nothing); a node
// that does not offer it keeps its list. test/gpu/cuda_conv_tactics.test.ts runs every tactic so,
// with TRTN_CUDA_STRICT_TACTICS=1 (a tactic that refuses the run's views is an error there, not a
// silent fallback to the direct kernel).
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
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/conv_family.h"
#include "backends/cuda/op.h"
#include "core/gemm_node.h"

namespace trtn::cuda {
namespace {

using conv::ConvCall;
using conv::ConvFamily;
using conv::ConvProblem;
using conv::DirectParams;
using conv::GemmParams;
using conv::Math;
using conv::math_label;
using conv::TileConfig;

/// The families, preferred first (the default tactic comes from the first that serves a node).
/// The last serves every node and takes every view: a run whose real views another family cannot
/// take runs it instead.
const ConvFamily* const kFamilies[] = {&conv::kGemvFamily,   &conv::kStemFamily, &conv::kMmaFamily,
                                       &conv::kIm2colFamily, &conv::kSimtFamily, &conv::kDirectFamily};
constexpr int kFamilyCount = static_cast<int>(sizeof(kFamilies) / sizeof(kFamilies[0]));

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

const char* elem_label(Elem e) { return e == Elem::kF16 ? "f16" : e == Elem::kI8 ? "i8" : "f32"; }
const char* layout_label(Layout l) { return l == Layout::kNHWC ? "nhwc" : "linear"; }

/// A whole image of `v` is one dense block in (c, h, w) order.
bool image_contiguous(const View4& v) {
  return v.layout == Layout::kLinear && v.sw == 1 && v.sh == v.w && v.sc == static_cast<int64_t>(v.h) * v.w;
}

struct Tactic {
  int family;  // index into kFamilies
  int config;  // the family's tile configuration
  std::string name;
};

/// The op for a Convolution or InnerProduct node.
class GemmConvOp final : public CudaOp {
 public:
  /// `pooled`: the place of a MAX pooling's input this 1x1 convolution pools in its loader (the
  /// planner's pooling + convolution fusion), read instead of the node's input; else null.
  Status init(const CudaOpInit& init, bool inner_product, const Place* pooled = nullptr);
  /// Sibling convolutions as one (planner.h EnginePlan::merge_members): `members` in channel order,
  /// writing `span` together; their output channels side by side, zeros in the gaps between them.
  Status init_merged(const std::vector<CudaOpInit>& members, const Place& span);
  Status run(const RunArgs& args) const override;
  int tactic_count() const override { return static_cast<int>(tactics_.size()); }
  std::string tactic_name(int i) const override {
    return i >= 0 && i < tactic_count() ? tactics_[i].name : std::string("?");
  }
  Status set_tactic(int i) override {
    if (i < 0 || i >= tactic_count()) {
      return Status(Code::kInvalidArgument, "convolution '" + p_.name + "': no tactic " + std::to_string(i));
    }
    tactic_ = i;
    return Status::ok();
  }
  int tactic() const override { return tactic_; }
  std::string signature() const override { return signature_; }
  size_t workspace_bytes(int batch) const override { return tactic_workspace(tactics_[tactic_], batch); }
  size_t max_workspace_bytes(int batch) const override {
    size_t most = 0;
    for (const Tactic& t : tactics_) most = std::max(most, tactic_workspace(t, batch));
    return most;
  }

 private:
  /// The node's prepared blobs and how its weights are stored.
  struct Blobs {
    const Blob* weights = nullptr;
    const Blob* bias = nullptr;
    const Blob* wscale = nullptr;
    bool transposed = false;  // InnerProduct weights [K][N]
  };
  void init_common(const CudaOpInit& init);
  Status size_k(const OpInit& node);
  void set_places(std::vector<Place> in, std::vector<Place> out);
  Status finish_init(bool inner_product);
  Status upload_merged(const std::vector<CudaOpInit>& members, const std::vector<Blobs>& blobs,
                       const std::vector<int64_t>& at);
  Status init_convolution(const CudaOpInit& init, Blobs* blobs);
  Status init_inner_product(const CudaOpInit& init, Blobs* blobs);
  Status check_places(const CudaOpInit& init) const;
  Status upload_weights(const Blob& w, bool transposed);
  Status upload_family_weights(const conv::HostWeights& w);
  Status upload_epilogues(const CudaOpInit& init, const Blob& bias, const Blob* wscale);
  Status choose_tactics();
  Status add_family_tactics(int family);
  void apply_forced_tactic();
  int default_tactic() const;
  std::string make_signature(bool inner_product) const;
  size_t tactic_workspace(const Tactic& t, int batch) const;
  /// Checks a run's views against the node's shapes (the planner's places).
  Status check_views(size_t pair, const View4& in, const View4& out) const;

  ConvProblem p_;
  std::vector<bool> serves_;       // per family: eligible for this node
  std::vector<DeviceBuffer> own_;  // per family: its own weight layout (may be empty)
  std::vector<Tactic> tactics_;
  int tactic_ = 0;
  std::string signature_;
};

void GemmConvOp::init_common(const CudaOpInit& init) {
  p_.name = init.node.node.name;
  p_.math = math_of(init.node.node.precision);
  p_.activation = init.node.node.activation;
  p_.device = init.device;
  p_.max_batch = static_cast<int>(std::max<int64_t>(1, init.max_run_batch()));
}

// Cg_pad: the group's channels rounded up to 16 bytes of the weight type (the tensor-core chunk; a
// multiple of 4 for the SIMT groups of k).
Status GemmConvOp::size_k(const OpInit& node) {
  p_.cg_pad = round_up(p_.cg, 16 / conv::math_bytes(p_.math));
  p_.ktot = p_.kvol * p_.cg_pad;
  if (p_.ktot > INT_MAX / 2 || p_.cout > INT_MAX / 2 || p_.cout * p_.ktot > (int64_t{1} << 40)) {
    return node.error("is too large for the cuda kernels (K = " + std::to_string(p_.ktot) + ")");
  }
  return Status::ok();
}

/// The places the kernels read and write, and the families that serve the problem so placed.
void GemmConvOp::set_places(std::vector<Place> in, std::vector<Place> out) {
  p_.in_places = std::move(in);
  p_.out_places = std::move(out);
  for (const ConvFamily* f : kFamilies) serves_.push_back(f->eligible(p_));
  own_.resize(kFamilyCount);
}

/// After the weights and epilogues are up: the tactics, the timing-cache signature, the default.
Status GemmConvOp::finish_init(bool inner_product) {
  TRTN_TRY(choose_tactics());
  if (tactics_.empty()) {  // only a convolution pooling its input can have none (no tensor cores)
    return Status(Code::kInternal, "convolution '" + p_.name + "': no kernel serves it on this GPU");
  }
  signature_ = make_signature(inner_product);
  return set_tactic(default_tactic());
}

Status GemmConvOp::init(const CudaOpInit& init, bool inner_product, const Place* pooled) {
  const OpInit& node = init.node;
  init_common(init);
  TRTN_TRY(check_gemm_dtypes(node));
  Blobs blobs;
  TRTN_TRY(inner_product ? init_inner_product(init, &blobs) : init_convolution(init, &blobs));
  TRTN_TRY(size_k(node));
  TRTN_TRY(check_places(init));
  if (pooled != nullptr && (p_.pairs != 1 || pooled->elem != init.in_place(0).elem)) {
    return Status(Code::kInternal, "convolution '" + p_.name + "' cannot pool its input: one pair of one type");
  }
  p_.pool_input = pooled != nullptr;
  std::vector<Place> in, out;
  for (size_t i = 0; i < p_.pairs; ++i) {
    in.push_back(pooled != nullptr ? *pooled : init.in_place(i));
    out.push_back(init.out_place(i));
  }
  set_places(std::move(in), std::move(out));
  TRTN_TRY(upload_weights(*blobs.weights, blobs.transposed));
  TRTN_TRY(upload_epilogues(init, *blobs.bias, blobs.wscale));
  return finish_init(inner_product);
}

Status GemmConvOp::init_merged(const std::vector<CudaOpInit>& members, const Place& span) {
  const CudaOpInit& first = members.front();
  init_common(first);
  for (size_t k = 1; k < members.size(); ++k) p_.name += "+" + members[k].node.node.name;
  std::vector<Blobs> blobs(members.size());
  std::vector<int64_t> at(members.size());
  int64_t end = 0, cin = 0;
  for (size_t k = 0; k < members.size(); ++k) {
    const CudaOpInit& m = members[k];
    TRTN_TRY(check_gemm_dtypes(m.node));
    TRTN_TRY(init_convolution(m, &blobs[k]));
    TRTN_TRY(check_places(m));
    at[k] = m.out_place(0).c_offset - span.c_offset;
    if (k == 0) cin = p_.cin;
    if (p_.pairs != 1 || p_.groups != 1 || p_.cin != cin || m.in_place(0).root != first.in_place(0).root ||
        m.out_place(0).root != span.root || at[k] < end || at[k] + p_.cout > span.c) {
      return Status(Code::kInternal, "convolutions '" + p_.name + "' cannot run as one: their places do not fit");
    }
    end = at[k] + p_.cout;
  }
  p_.cout = p_.ng = span.c;
  TRTN_TRY(size_k(first.node));
  set_places({first.in_place(0)}, {span});
  TRTN_TRY(upload_merged(members, blobs, at));
  return finish_init(false);
}

/// The members' blobs stacked at their channels ([Cout][Cg][kernel] each) with zeros in the gaps, and
/// their epilogues (bias, or INT8 multipliers with each member's own output scale) the same way.
Status GemmConvOp::upload_merged(const std::vector<CudaOpInit>& members, const std::vector<Blobs>& blobs,
                                 const std::vector<int64_t>& at) {
  try {
    Blob w, bias;
    const Blob& w0 = *blobs[0].weights;
    const int64_t per = p_.cg * p_.kvol;
    w.dtype = w0.dtype;
    w.dims = w0.dims;
    w.dims[0] = p_.cout;
    if (w.dtype == DType::kInt8) {
      w.i8.assign(static_cast<size_t>(p_.cout * per), 0);
    } else {
      w.f32.assign(static_cast<size_t>(p_.cout * per), 0.0f);
    }
    bias.f32.assign(static_cast<size_t>(p_.cout), 0.0f);
    std::vector<float> mul(static_cast<size_t>(p_.cout), 0.0f), add(static_cast<size_t>(p_.cout), 0.0f);
    for (size_t k = 0; k < members.size(); ++k) {
      const Blob& src = *blobs[k].weights;
      if (w.dtype == DType::kInt8) {
        std::copy(src.i8.begin(), src.i8.end(), w.i8.begin() + at[k] * per);
      } else {
        std::copy(src.f32.begin(), src.f32.end(), w.f32.begin() + at[k] * per);
      }
      std::copy(blobs[k].bias->f32.begin(), blobs[k].bias->f32.end(), bias.f32.begin() + at[k]);
      if (p_.math != Math::kI8) continue;
      std::vector<float> m_mul, m_add;
      int8_multipliers(members[k].node.input(0).scale, blobs[k].wscale->f32, blobs[k].bias->f32,
                       members[k].node.output(0), &m_mul, &m_add);
      std::copy(m_mul.begin(), m_mul.end(), mul.begin() + at[k]);
      std::copy(m_add.begin(), m_add.end(), add.begin() + at[k]);
    }
    TRTN_TRY(upload_weights(w, false));
    if (p_.math == Math::kI8) {
      mul.insert(mul.end(), add.begin(), add.end());
      TRTN_TRY(p_.epi.upload(mul, p_.name + " INT8 multipliers"));
    } else {
      TRTN_TRY(p_.epi.upload(bias.f32, p_.name + " bias"));
    }
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "convolutions '" + p_.name + "': out of host memory preparing weights");
  }
  return Status::ok();
}

std::string GemmConvOp::make_signature(bool inner_product) const {
  std::string s = std::string(inner_product ? "InnerProduct" : "Convolution") + " " + math_label(p_.math) +
                  (p_.flatten ? " flat" : "") + " g" + std::to_string(p_.groups) + " c" + std::to_string(p_.cin) +
                  " o" + std::to_string(p_.cout) + (p_.pool_input ? " maxpool3x3" : "") + " in";
  for (int64_t d : p_.in_sp) s += "x" + std::to_string(d);
  s += " k";
  for (int64_t d : p_.kernel) s += "x" + std::to_string(d);
  s += " s";
  for (int64_t d : p_.stride) s += "x" + std::to_string(d);
  s += " p";
  for (int64_t d : p_.pad) s += "x" + std::to_string(d);
  s += " d";
  for (int64_t d : p_.dil) s += "x" + std::to_string(d);
  for (size_t i = 0; i < p_.pairs; ++i) {
    s += std::string(" ") + layout_label(p_.in_places[i].layout) + "/" + elem_label(p_.in_places[i].elem) + "/" +
         std::to_string(p_.in_places[i].root_c) + "+" + std::to_string(p_.in_places[i].c_offset) + "->" +
         layout_label(p_.out_places[i].layout) + "/" + elem_label(p_.out_places[i].elem);
  }
  return s + " sm" + std::to_string(p_.device.sm);
}

Status GemmConvOp::init_convolution(const CudaOpInit& init, Blobs* blobs) {
  const OpInit& node = init.node;
  ConvGeometry geo;
  Status st = read_conv_geometry(node, false, &geo);
  if (!st.is_ok()) return st;
  p_.pairs = node.node.inputs.size();
  p_.cin = geo.channels_in;
  p_.cout = geo.channels_out;
  p_.groups = geo.group;
  p_.cg = p_.cin / p_.groups;
  p_.ng = p_.cout / p_.groups;
  const size_t axes = geo.kernel.size();
  p_.in_sp = geo.in;
  p_.out_sp = geo.out;
  p_.kernel = geo.kernel;
  p_.stride = geo.stride;
  p_.pad = geo.pad;
  p_.dil = geo.dilation;
  if (axes == 1) {  // [C, L] is the View4 [C, L, 1]
    p_.in_sp.push_back(1);
    p_.out_sp.push_back(1);
    p_.kernel.push_back(1);
    p_.stride.push_back(1);
    p_.pad.push_back(0);
    p_.dil.push_back(1);
  }
  p_.axes = static_cast<int>(p_.in_sp.size());
  p_.kvol = geo.kernel_volume;

  std::vector<int64_t> wdims{p_.cout, p_.cg};
  wdims.insert(wdims.end(), geo.kernel.begin(), geo.kernel.end());
  return find_gemm_blobs(node, wdims, p_.cout, &blobs->weights, &blobs->bias, &blobs->wscale);
}

Status GemmConvOp::init_inner_product(const CudaOpInit& init, Blobs* blobs) {
  const OpInit& node = init.node;
  Status st = node.expect_io(1, 1);
  if (!st.is_ok()) return st;
  p_.pairs = 1;
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
  p_.rows = 1;
  std::vector<int64_t> want;
  for (int64_t i = 0; i < axis - 1; ++i) {
    p_.rows *= in[i];
    want.push_back(in[i]);
  }
  want.push_back(n);
  if (input_size >= 0 && input_size != k) {
    return node.error("inputSize " + std::to_string(input_size) + " does not match the " + std::to_string(k) +
                      " input values per row");
  }
  if (node.output(0).dims != want) return node.error("output '" + node.output(0).name + "' has the wrong shape");

  p_.cout = n;
  p_.ng = n;
  p_.groups = 1;
  const Place& ip = init.in_place(0);
  p_.flatten = !(axis == 1 && in.size() <= 3 && ip.layout == Layout::kNHWC);
  if (p_.flatten) {
    p_.cin = p_.cg = k;
    p_.in_sp = p_.out_sp = p_.kernel = p_.stride = p_.dil = {1, 1};
    p_.pad = {0, 0};
    p_.kvol = 1;
  } else {
    // The whole image is the kernel: [C], [C, H] and [C, H, W] are the View4 [C, H, W].
    p_.cin = p_.cg = in[0];
    p_.in_sp = {in.size() > 1 ? in[1] : 1, in.size() > 2 ? in[2] : 1};
    p_.kernel = p_.in_sp;
    p_.out_sp = p_.stride = p_.dil = {1, 1};
    p_.pad = {0, 0};
    p_.kvol = p_.in_sp[0] * p_.in_sp[1];
  }
  p_.axes = 2;

  const std::vector<int64_t> wdims = transpose ? std::vector<int64_t>{k, n} : std::vector<int64_t>{n, k};
  blobs->transposed = transpose;
  return find_gemm_blobs(node, wdims, n, &blobs->weights, &blobs->bias, &blobs->wscale);
}

Status GemmConvOp::check_places(const CudaOpInit& init) const {
  const OpInit& node = init.node;
  const Elem want_in = input_elem(p_.math);
  for (size_t i = 0; i < p_.pairs; ++i) {
    const Place& ip = init.in_place(i);
    const Place& op = init.out_place(i);
    if (ip.elem != want_in) {
      return node.error(std::string("input '") + node.input(i).name + "' is stored as " + elem_label(ip.elem) + ", " +
                        precision_name(node.node.precision) + " reads " + elem_label(want_in));
    }
    const bool int8_out = node.output(i).dtype == DType::kInt8;
    const bool out_ok =
        int8_out ? op.elem == Elem::kI8 : op.elem == Elem::kF32 || (op.elem == Elem::kF16 && p_.math != Math::kI8);
    if (!out_ok) {
      return node.error(std::string("output '") + node.output(i).name + "' cannot be stored as " + elem_label(op.elem));
    }
    if (p_.axes > 2 || p_.flatten) {
      if (ip.layout != Layout::kLinear) {
        return node.error(std::string("input '") + node.input(i).name + "' must be kLinear for this form");
      }
    }
    if (p_.axes > 2 && op.layout != Layout::kLinear) {
      return node.error(std::string("output '") + node.output(i).name + "' must be kLinear for 3-D convolutions");
    }
    if (p_.flatten && p_.rows > 1 && op.layout != Layout::kLinear) {
      return node.error(std::string("output '") + node.output(i).name + "' must be kLinear (rows per image > 1)");
    }
  }
  return Status::ok();
}

Status GemmConvOp::upload_weights(const Blob& w, bool transposed) {
  const int64_t k_src = p_.cg * p_.kvol;  // the blob's values per output channel
  // Value (co, c, kpos) of the blob: [Cout][Cg][kernel...], or InnerProduct [N][K] / [K][N] with
  // k = c * kvol + kpos (the (c, h, w) order of the flattened input).
  auto src_index = [&](int64_t co, int64_t c, int64_t kpos) {
    const int64_t k = c * p_.kvol + kpos;
    return transposed ? k * p_.cout + co : co * k_src + k;
  };
  // The shared [Cout][kvol][Cg_pad] layout in the math's type, then each family's own from it.
  auto upload = [&](auto zero, auto convert) {
    std::vector<decltype(zero)> dst(static_cast<size_t>(p_.cout * p_.ktot), zero);
    for (int64_t co = 0; co < p_.cout; ++co)
      for (int64_t kp = 0; kp < p_.kvol; ++kp)
        for (int64_t c = 0; c < p_.cg; ++c) dst[(co * p_.kvol + kp) * p_.cg_pad + c] = convert(src_index(co, c, kp));
    Status st = p_.weights.upload(dst, p_.name + " weights");
    if (!st.is_ok()) return st;
    return upload_family_weights(conv::HostWeights{dst.data(), dst.size() * sizeof(zero)});
  };
  try {
    if (p_.math == Math::kI8) return upload(int8_t{0}, [&](int64_t i) { return w.i8[i]; });
    if (p_.math == Math::kF16) {
      return upload(__float2half_rn(0.0f), [&](int64_t i) { return __float2half_rn(w.f32[i]); });
    }
    return upload(0.0f, [&](int64_t i) { return w.f32[i]; });
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "convolution '" + p_.name + "': out of host memory preparing weights");
  }
}

Status GemmConvOp::upload_family_weights(const conv::HostWeights& w) {
  for (int f = 0; f < kFamilyCount; ++f) {
    if (!serves_[f] || kFamilies[f]->prepare_weights == nullptr) continue;
    Status st = kFamilies[f]->prepare_weights(p_, w, &own_[f]);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

Status GemmConvOp::upload_epilogues(const CudaOpInit& init, const Blob& bias, const Blob* wscale) {
  if (p_.math != Math::kI8) return p_.epi.upload(bias.f32, p_.name + " bias");
  std::vector<float> all;
  for (size_t i = 0; i < p_.pairs; ++i) {
    std::vector<float> mul, add;
    int8_multipliers(init.node.input(i).scale, wscale->f32, bias.f32, init.node.output(i), &mul, &add);
    all.insert(all.end(), mul.begin(), mul.end());
    all.insert(all.end(), add.begin(), add.end());
  }
  return p_.epi.upload(all, p_.name + " INT8 multipliers");
}

Status GemmConvOp::choose_tactics() {
  tactics_.clear();
  for (int f = 0; f < kFamilyCount; ++f) {
    if (!serves_[f]) continue;
    Status st = add_family_tactics(f);
    if (!st.is_ok()) return st;
  }
  apply_forced_tactic();
  return Status::ok();
}

// Lists a family's tiles whose shared memory fits the device. A kernel's shared-memory limit is
// process-wide and only a cap, so every op raises it to the device's opt-in maximum (one value:
// ops never lower it under one another, whatever each node needs).
Status GemmConvOp::add_family_tactics(int family) {
  const ConvFamily& f = *kFamilies[family];
  int max_out_eb = 1;
  for (const Place& p : p_.out_places) max_out_eb = std::max(max_out_eb, elem_bytes(p.elem));
  const size_t smem_limit = std::max(p_.device.shared_per_block_optin, kDefaultSmem);
  for (int c = 0; c < f.configs(); ++c) {
    if (f.offered != nullptr && !f.offered(p_, c)) continue;
    if (f.smem_bytes != nullptr) {
      if (f.smem_bytes(p_, c, max_out_eb) > smem_limit) continue;
      if (f.smem_bytes(p_, c, 4) > kDefaultSmem) {
        Status st = f.prepare(p_.math, c, smem_limit);
        if (!st.is_ok()) return st;
      }
    }
    tactics_.push_back({family, c, f.tactic_name(p_.math, c)});
  }
  return Status::ok();
}

void GemmConvOp::apply_forced_tactic() {
  const char* forced = std::getenv("TRTN_CUDA_FORCE_TACTIC");
  if (forced == nullptr || *forced == '\0') return;
  const std::string want(forced);
  for (size_t i = 0; i < tactics_.size(); ++i) {
    const bool match = want[0] == '#' ? want.substr(1) == std::to_string(i) : want == tactics_[i].name;
    if (match) {
      tactics_ = {tactics_[i]};
      return;
    }
  }
}

int GemmConvOp::default_tactic() const {
  // The first family present (the table's preference), and within it the tile with the least
  // estimated time at the engine's largest batch: waves of CTAs over the multiprocessors, each
  // wave costing its tiles' area (the K loop is the same for every tile). An untiled first family
  // (GEMV, direct) gives its first tactic, the first listed.
  const int family = tactics_.front().family;
  const int sms = std::max(1, p_.device.multiprocessors);
  const int64_t m = static_cast<int64_t>(p_.max_batch) * p_.rows * p_.out_sp[0] * p_.out_sp[1];
  int best = -1;
  double best_cost = 0;
  for (size_t i = 0; i < tactics_.size(); ++i) {
    const Tactic& t = tactics_[i];
    TileConfig c;
    if (t.family != family || !kFamilies[family]->tile(p_.math, t.config, &c)) continue;
    const int64_t ctas = ceil_div(m, c.bm) * ceil_div(p_.ng, c.bn) * p_.groups;
    const double cost = static_cast<double>(ceil_div(ctas, sms)) * c.bm * c.bn;
    if (best < 0 || cost < best_cost) {
      best = static_cast<int>(i);
      best_cost = cost;
    }
  }
  return best < 0 ? 0 : best;
}

size_t GemmConvOp::tactic_workspace(const Tactic& t, int batch) const {
  const ConvFamily& f = *kFamilies[t.family];
  return f.workspace_bytes != nullptr ? f.workspace_bytes(p_, t.config, batch) : 0;
}

}  // namespace

namespace conv {
namespace {

/// The epilogue of one pair: its bias or INT8 multipliers, the fused activation.
Epilogue epilogue(const ConvProblem& p, size_t pair) {
  Epilogue e;
  const float* base = p.epi.as<float>();
  if (p.math == Math::kI8) {
    e.mul = base + 2 * pair * p.cout;
    e.add = e.mul + p.cout;
  } else {
    e.add = base;
  }
  e.relu = p.activation.relu ? 1 : 0;
  e.slope = p.activation.negative_slope;
  e.round_half = p.math == Math::kF16 ? 1 : 0;
  return e;
}

}  // namespace

Status problem_views(const ConvProblem& p, const View4& in, const View4& out, View4* pin, View4* pout) {
  *pin = in;
  *pout = out;
  if (!p.flatten) return Status::ok();
  // InnerProduct over a kLinear input: each row is K contiguous values, a pixel of K channels.
  if (!image_contiguous(in) || (p.rows > 1 && (in.sn != in.image_volume() || !out.dense_nchw()))) {
    return Status(Code::kInternal, "inner product '" + p.name + "': input or output view is not contiguous");
  }
  const int64_t n = static_cast<int64_t>(in.n) * p.rows;
  if (n > INT_MAX) return Status(Code::kInvalidArgument, "inner product '" + p.name + "': too many rows");
  pin->n = static_cast<int32_t>(n);
  pin->c = static_cast<int32_t>(p.cin);
  pin->h = pin->w = 1;
  pin->c_write = pin->c;
  pin->sn = p.rows > 1 ? p.cin : in.sn;
  pin->sc = 1;
  pin->sh = pin->sw = 0;
  if (p.rows > 1) {
    pout->n = static_cast<int32_t>(n);
    pout->c = pout->c_write = static_cast<int32_t>(p.cout);
    pout->h = pout->w = 1;
    pout->sn = p.cout;
    pout->sc = 1;
    pout->sh = pout->sw = 0;
  }
  return Status::ok();
}

GemmParams gemm_params(const ConvProblem& pr, const View4& in, const View4& out, size_t pair) {
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
  p.R = static_cast<int>(pr.kernel[0]);
  p.S = static_cast<int>(pr.kernel[1]);
  p.stride_h = static_cast<int>(pr.stride[0]);
  p.stride_w = static_cast<int>(pr.stride[1]);
  p.pad_h = static_cast<int>(pr.pad[0]);
  p.pad_w = static_cast<int>(pr.pad[1]);
  p.dil_h = static_cast<int>(pr.dil[0]);
  p.dil_w = static_cast<int>(pr.dil[1]);
  p.G = static_cast<int>(pr.groups);
  p.Cg = static_cast<int>(pr.cg);
  p.Ng = static_cast<int>(pr.ng);
  p.Cg_pad = static_cast<int>(pr.cg_pad);
  p.Ktot = static_cast<int>(pr.ktot);
  p.weights = pr.weights.get();
  p.K4 = static_cast<int>(pr.ktot / 4);
  p.vec_in = channel_vectors_ok(in, 4, pr.cg, pr.groups) ? 1 : 0;
  p.m_fastest = p.vec_in ? 0 : 1;
  p.round_tf32 = pr.math == Math::kTF32 ? 1 : 0;
  p.epi = epilogue(pr, pair);
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

DirectParams direct_params(const ConvProblem& pr, const View4& in, const View4& out, size_t pair) {
  DirectParams p;
  p.axes = pr.axes;
  p.in = in.data;
  p.in_sn = in.sn;
  p.out = out.data;
  p.out_elem = out.elem;
  p.out_layout = out.layout;
  p.out_sn = out.sn;
  p.batch = in.n;
  p.c_write = out.c_write;
  if (pr.axes == 2) {
    p.in_sc = in.sc;
    p.out_sc = out.sc;
    p.in_stride[0] = in.sh;
    p.in_stride[1] = in.sw;
    p.out_stride[0] = out.sh;
    p.out_stride[1] = out.sw;
  } else {
    // Whole kLinear tensors: dense (c, spatial...) per image.
    int64_t is = 1, os = 1;
    for (int a = pr.axes - 1; a >= 0; --a) {
      p.in_stride[a] = is;
      p.out_stride[a] = os;
      is *= pr.in_sp[a];
      os *= pr.out_sp[a];
    }
    p.in_sc = is;
    p.out_sc = os;
  }
  for (int a = 0; a < pr.axes; ++a) {
    p.in_dims[a] = static_cast<int>(a < 2 && pr.axes == 2 ? (a == 0 ? in.h : in.w) : pr.in_sp[a]);
    p.out_dims[a] = static_cast<int>(a < 2 && pr.axes == 2 ? (a == 0 ? out.h : out.w) : pr.out_sp[a]);
    p.kernel[a] = static_cast<int>(pr.kernel[a]);
    p.stride[a] = static_cast<int>(pr.stride[a]);
    p.pad[a] = static_cast<int>(pr.pad[a]);
    p.dil[a] = static_cast<int>(pr.dil[a]);
  }
  p.out_vol = 1;
  for (int a = 0; a < pr.axes; ++a) p.out_vol *= p.out_dims[a];
  p.G = static_cast<int>(pr.groups);
  p.Cg = static_cast<int>(pr.cg);
  p.Ng = static_cast<int>(pr.ng);
  p.Cout = static_cast<int>(pr.cout);
  p.Cg_pad = static_cast<int>(pr.cg_pad);
  p.kvol = static_cast<int>(pr.kvol);
  p.weights = pr.weights.get();
  p.round_tf32 = pr.math == Math::kTF32 ? 1 : 0;
  p.epi = epilogue(pr, pair);
  return p;
}

}  // namespace conv

namespace {

Status GemmConvOp::check_views(size_t pair, const View4& in, const View4& out) const {
  bool shapes_ok = in.c == p_.cin && out.c == p_.cout && out.c_write >= out.c && in.n == out.n &&
                   in.elem == input_elem(p_.math) && out.elem == p_.out_places[pair].elem;
  if (p_.axes == 2) {
    shapes_ok =
        shapes_ok && in.h == p_.in_sp[0] && in.w == p_.in_sp[1] && out.h == p_.out_sp[0] && out.w == p_.out_sp[1];
  } else {
    int64_t iv = 1, ov = 1;
    for (int a = 0; a < p_.axes; ++a) {
      iv *= p_.in_sp[a];
      ov *= p_.out_sp[a];
    }
    shapes_ok = shapes_ok && image_contiguous(in) && image_contiguous(out) && static_cast<int64_t>(in.h) * in.w == iv &&
                static_cast<int64_t>(out.h) * out.w == ov && out.c_write == out.c;
  }
  if (!shapes_ok) return Status(Code::kInternal, "convolution '" + p_.name + "': views do not match the node's shapes");
  if (p_.axes == 2 && static_cast<int64_t>(in.n) * out.h * out.w > INT_MAX - 256) {
    return Status(Code::kInvalidArgument, "convolution '" + p_.name + "': too many output pixels for one launch");
  }
  return Status::ok();
}

Status GemmConvOp::run(const RunArgs& args) const {
  if (args.in.size() != p_.pairs || args.out.size() != p_.pairs || args.batch < 1) {
    return Status(Code::kInvalidArgument, "convolution '" + p_.name + "': bad buffers or batch");
  }
  const Tactic& tactic = tactics_[tactic_];
  for (size_t i = 0; i < p_.pairs; ++i) {
    ConvCall call;
    Status st = conv::problem_views(p_, args.in[i], args.out[i], &call.in, &call.out);
    if (!st.is_ok()) return st;
    // Catch a mismatch with the planner's places here rather than read out of bounds.
    if (!(st = check_views(i, call.in, call.out)).is_ok()) return st;
    call.pair = i;
    call.workspace = args.workspace;
    call.stream = args.stream;
    int family = tactic.family;
    if (!kFamilies[family]->accepts(p_, call)) {
      // The last family, for a pair whose real view breaks what the chosen tactic needs (never
      // expected: the places were checked at init; the tactic tests make it an error).
      // A convolution that pools its input has no fallback: the direct kernel does not pool.
      if (cuda_env().strict_tactics || p_.pool_input) {
        return Status(Code::kInternal,
                      "convolution '" + p_.name + "': tactic " + tactic.name + " does not accept the run's views");
      }
      family = kFamilyCount - 1;
    }
    call.own = own_[family].get();
    st = kFamilies[family]->launch(p_, call, family == tactic.family ? tactic.config : 0);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

/// A GemmConvOp set up by `init_op` (whose failure is the result), as a CudaOp.
template <typename InitFn>
Status make_gemm_op(const std::string& name, InitFn init_op, std::unique_ptr<CudaOp>* out) {
  try {
    auto op = std::make_unique<GemmConvOp>();
    TRTN_TRY(init_op(*op));
    *out = std::move(op);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "convolution '" + name + "': out of host memory");
  }
  return Status::ok();
}

}  // namespace

Status make_convolution(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make_gemm_op(
      init.node.node.name, [&](GemmConvOp& op) { return op.init(init, false); }, out);
}

Status make_inner_product(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make_gemm_op(
      init.node.node.name, [&](GemmConvOp& op) { return op.init(init, true); }, out);
}

Status make_pooled_convolution(const CudaOpInit& conv, const Place& pooled, std::unique_ptr<CudaOp>* out) {
  return make_gemm_op(
      conv.node.node.name, [&](GemmConvOp& op) { return op.init(conv, false, &pooled); }, out);
}

Status make_merged_convolution(const std::vector<CudaOpInit>& members, const Place& span,
                               std::unique_ptr<CudaOp>* out) {
  return make_gemm_op(
      members.front().node.node.name, [&](GemmConvOp& op) { return op.init_merged(members, span); }, out);
}

}  // namespace trtn::cuda
