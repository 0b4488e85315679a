#include "backends/tensorrt/mapping.h"

#include <algorithm>
#include <map>
#include <string>

#include "core/activation_params.h"
#include "core/argmax_params.h"
#include "core/channel_affine_params.h"
#include "core/concat_params.h"
#include "core/crop_params.h"
#include "core/eltwise_params.h"
#include "core/embed_params.h"
#include "core/gemm_node.h"
#include "core/lrn_params.h"
#include "core/mvn_params.h"
#include "core/op_init.h"
#include "core/pooling_params.h"
#include "core/prior_box_params.h"
#include "core/prelu_params.h"
#include "core/preprocess_params.h"
#include "core/quantize_params.h"
#include "core/reduction_params.h"
#include "core/reshape_params.h"
#include "core/resize_params.h"
#include "core/slice_params.h"
#include "core/softmax_params.h"
#include "core/normalize_params.h"
#include "core/permute_params.h"
#include "core/shuffle_channel_params.h"
#include "core/tile_params.h"

namespace trtn::tensorrt {

const char* type_name(TrtType t) {
  switch (t) {
    case TrtType::kFloat: return "kFLOAT";
    case TrtType::kHalf: return "kHALF";
    case TrtType::kInt8: return "kINT8";
    case TrtType::kInt32: return "kINT32";
    case TrtType::kInt64: return "kINT64";
    case TrtType::kBool: return "kBOOL";
    case TrtType::kUInt8: return "kUINT8";
  }
  return "kFLOAT";
}

Arg Arg::of_ints(std::vector<int64_t> v) {
  Arg a;
  a.kind = Kind::kInts;
  a.ints = std::move(v);
  return a;
}

Arg Arg::of_floats(std::vector<double> v) {
  Arg a;
  a.kind = Kind::kFloats;
  a.floats = std::move(v);
  return a;
}

Arg Arg::of_name(std::string v) {
  Arg a;
  a.kind = Kind::kName;
  a.name = std::move(v);
  return a;
}

Arg Arg::of_bool(bool v) {
  Arg a;
  a.kind = Kind::kBool;
  a.flag = v;
  return a;
}

const Arg* Call::arg(const std::string& key) const {
  for (const auto& [k, v] : args) {
    if (k == key) return &v;
  }
  return nullptr;
}

const WeightsDesc* NetworkPlan::find_weights(const std::string& id) const {
  for (const WeightsDesc& w : weights) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

namespace {

/// TensorRT's LRN layer takes odd windows up to this size; larger ones are composed.
constexpr int64_t kMaxLrnWindow = 15;

/// TensorRT's Scale layer needs inputs of at least this rank (the batch included).
constexpr size_t kScaleMinRank = 4;

/// Bit mask of axes [first, last) for reduce, softmax and topK.
uint32_t axes_mask(int64_t first, int64_t last) {
  uint32_t m = 0;
  for (int64_t a = first; a < last; ++a) m |= 1u << a;
  return m;
}

/// Walks the graph once, node by node, appending calls to the plan.
class Mapper {
 public:
  Mapper(const Graph& g, const WeightStore& w, NetworkPlan* plan)
      : g_(g), w_(w), plan_(*plan), read_(g.tensors.size()) {}

  Status run();

 private:
  // --- naming and emission -------------------------------------------------------------------
  Call& emit(const std::string& method, const std::string& layer, std::vector<std::string> inputs,
             std::vector<std::string> outputs) {
    Call c;
    c.method = method;
    c.layer = layer;
    c.node = node_ == nullptr ? "" : node_->name;
    c.inputs = std::move(inputs);
    c.outputs = std::move(outputs);
    plan_.calls.push_back(std::move(c));
    return plan_.calls.back();
  }
  /// A name for an intermediate tensor (and its layer) of the current node.
  std::string tmp(const std::string& what) const { return node_->name + "/" + what; }

  const std::string& read(int tensor) const { return read_[tensor]; }
  const TensorDesc& tensor(int id) const { return g_.tensors[id]; }
  /// Rank of a tensor with the batch.
  static size_t rank(const TensorDesc& t) { return t.dims.size() + 1; }

  /// The name the producer of `tensor` gives its last call's output: the tensor's own name, or a
  /// pre-name when finish() still adds a Q/DQ pair or a cast to float after it.
  std::string produce(int tensor) const {
    const TensorDesc& t = g_.tensors[tensor];
    if (t.indices) return t.name;  // float32 in every precision (graph.h)
    if (t.dtype == DType::kInt8) return t.name + "/real";
    if (is_output(tensor) && plan_.compute_type == TrtType::kHalf) return t.name + "/half";
    return t.name;
  }
  bool is_output(int tensor) const {
    return std::find(g_.outputs.begin(), g_.outputs.end(), tensor) != g_.outputs.end();
  }
  /// After the producer: an int8 tensor becomes Q -> DQ with its calibration scale; an fp16 graph
  /// output is cast to float. Records the name consumers read.
  void finish(int tensor);

  std::string add_weights(WeightsDesc w) {
    const std::string id = w.id;
    plan_.weights.push_back(std::move(w));
    return id;
  }
  std::string blob_weights(const std::string& id, TrtType type, std::vector<int64_t> dims, const std::string& blob) {
    WeightsDesc w;
    w.id = id;
    w.type = type;
    w.dims = std::move(dims);
    w.blob = blob;
    return add_weights(std::move(w));
  }
  std::string value_weights(const std::string& id, TrtType type, std::vector<int64_t> dims,
                            std::vector<double> values) {
    WeightsDesc w;
    w.id = id;
    w.type = type;
    w.dims = std::move(dims);
    w.values = std::move(values);
    return add_weights(std::move(w));
  }
  /// addConstant of weights already added; the tensor has the weights' id as its name.
  std::string constant(const std::string& weights_id) {
    const WeightsDesc* w = plan_.find_weights(weights_id);
    Call& c = emit("addConstant", weights_id, {}, {weights_id});
    c.args.emplace_back("dimensions", Arg::of_ints(w->dims));
    c.args.emplace_back("weights", Arg::of_name(weights_id));
    return weights_id;
  }
  /// A constant of `rank` dims, all 1 except `dims` placed from `at`, in the compute type.
  std::string broadcast_constant(const std::string& id, size_t rank, size_t at, const std::vector<int64_t>& dims,
                                 std::vector<double> values) {
    std::vector<int64_t> d(rank, 1);
    for (size_t i = 0; i < dims.size(); ++i) d[at + i] = dims[i];
    value_weights(id, plan_.compute_type, d, std::move(values));
    return constant(id);
  }
  std::string scalar_constant(const std::string& id, size_t rank, double value) {
    return broadcast_constant(id, rank, 0, {}, {value});
  }

  std::string elementwise(const std::string& what, const std::string& a, const std::string& b, const char* op,
                          const std::string& out) {
    Call& c = emit("addElementWise", tmp(what), {a, b}, {out});
    c.args.emplace_back("operation", Arg::of_name(op));
    return out;
  }
  std::string unary(const std::string& what, const std::string& x, const char* op, const std::string& out) {
    Call& c = emit("addUnary", tmp(what), {x}, {out});
    c.args.emplace_back("operation", Arg::of_name(op));
    return out;
  }
  std::string activation(const std::string& what, const std::string& x, const char* type, const std::string& out,
                         double alpha = 0, double beta = 0, bool with_params = false) {
    Call& c = emit("addActivation", tmp(what), {x}, {out});
    c.args.emplace_back("type", Arg::of_name(type));
    if (with_params) {
      c.args.emplace_back("alpha", Arg::of_float(alpha));
      c.args.emplace_back("beta", Arg::of_float(beta));
    }
    return out;
  }
  /// A shuffle to per-image dims `dims` (the batch kept through TensorRT's 0 placeholder).
  std::string reshape(const std::string& what, const std::string& x, const std::vector<int64_t>& dims,
                      const std::string& out) {
    std::vector<int64_t> full{0};
    full.insert(full.end(), dims.begin(), dims.end());
    Call& c = emit("addShuffle", tmp(what), {x}, {out});
    c.args.emplace_back("reshapeDimensions", Arg::of_ints(full));
    c.args.emplace_back("zeroIsPlaceholder", Arg::of_bool(true));
    return out;
  }
  std::string cast(const std::string& what, const std::string& x, TrtType to, const std::string& out) {
    Call& c = emit("addCast", tmp(what), {x}, {out});
    c.args.emplace_back("toType", Arg::of_name(type_name(to)));
    return out;
  }
  /// y = (x * scale + shift) ^ power with one value each (TensorRT's Scale layer, kUNIFORM). The
  /// layer needs rank >= 4, so lower ranks pass through a [N, V, 1, 1] view.
  std::string uniform_scale(const std::string& what, const std::string& x, const std::vector<int64_t>& dims,
                            double shift, double scale, double power, const std::string& out);
  /// The fused ReLU of a GEMM or Eltwise node (kRELU, or kLEAKY_RELU with the slope).
  std::string fused_activation(const std::string& x, const std::string& out) {
    const Activation& a = node_->activation;
    if (a.negative_slope == 0.0f) return activation("relu", x, "kRELU", out);
    return activation("relu", x, "kLEAKY_RELU", out, a.negative_slope, 0, true);
  }
  /// Per-tensor scale of an int8 tensor, as a 0-D float constant.
  std::string scale_constant(const std::string& id, float scale) {
    value_weights(id, TrtType::kFloat, {}, {static_cast<double>(scale)});
    return constant(id);
  }
  /// The batch of `x` at run time as a 1-D int64 tensor of one value (shared per tensor).
  std::string runtime_batch(const std::string& x);
  /// addSlice of per-image `start` / `size` (stride 1); the batch is taken whole, its size from
  /// the running shape (slice input 2). With `batch_from`, the batch is that tensor's and the
  /// slice clamps (kCLAMP): a one-image `x` is repeated over it.
  std::string batch_slice(const std::string& what, const std::string& x, const std::vector<int64_t>& start,
                          const std::vector<int64_t>& size, const std::string& out, const std::string& batch_from = "");
  /// The float32 form of a tensor for a TRTN_Node plugin: the one its producer made (PriorBox's
  /// boxes, a plugin's outputs), else read() cast to float in fp16 engines.
  std::string read_float(int tensor, size_t i);

  // --- ops --------------------------------------------------------------------------------------
  Status map_node();
  Status map_conv(bool deconv);
  Status map_inner_product();
  Status map_pooling();
  std::string pool_call(const std::string& what, const std::string& x, const char* type, const PoolingParams& p,
                        int64_t extra_h, int64_t extra_w, const std::string& out);
  Status map_lrn();
  Status map_activation();
  Status map_prelu();
  Status map_softmax();
  Status map_concat();
  Status map_eltwise();
  Status map_channel_affine();
  Status map_reshape();
  Status map_slice();
  Status map_crop();
  Status map_tile();
  Status map_shuffle_channel();
  Status map_permute();
  Status map_normalize();
  Status map_resize(bool interp);
  Status map_argmax();
  Status map_reduction();
  Status map_mvn();
  Status map_embed();
  Status map_quantize();
  Status map_preprocess();
  Status map_prior_box();
  Status map_node_plugin();

  Status unsupported(const std::string& what) const {
    return Status(Code::kUnsupportedLayer, "tensorrt backend, node '" + node_->name + "' (" + node_->op + "): " + what);
  }
  OpInit init() const { return OpInit{g_, *node_, w_, "tensorrt"}; }

  const Graph& g_;
  const WeightStore& w_;
  NetworkPlan& plan_;
  std::vector<std::string> read_;
  std::map<std::string, std::string> batch_of_;  // tensor name -> its runtime-batch tensor
  std::map<int, std::string> real_;              // int8 tensors quantized from an existing tensor
  std::map<int, std::string> float_;             // float32 forms made before a cast to half
  const Node* node_ = nullptr;
};

void Mapper::finish(int id) {
  const TensorDesc& t = g_.tensors[id];
  if (t.indices) {
    read_[id] = t.name;
    return;
  }
  if (t.dtype == DType::kInt8) {
    // Explicit quantization: the producer's float result, quantized with the tensor's calibration
    // scale and dequantized again; TensorRT fuses the pair into its INT8 kernels.
    const std::string scale = scale_constant(t.name + "/scale", t.scale);
    const auto real = real_.find(id);
    const std::string x = real == real_.end() ? t.name + "/real" : real->second;
    Call& q = emit("addQuantize", t.name + "/quantize", {x, scale}, {t.name + "/q"});
    q.args.emplace_back("outputType", Arg::of_name(type_name(TrtType::kInt8)));
    Call& dq = emit("addDequantize", t.name + "/dequantize", {t.name + "/q", scale}, {t.name});
    dq.args.emplace_back("outputType", Arg::of_name(type_name(plan_.compute_type)));
    read_[id] = t.name;
    return;
  }
  if (is_output(id) && plan_.compute_type == TrtType::kHalf) {
    const auto f = float_.find(id);
    if (f != float_.end()) {
      // The producer made it in float32 (and its half copy for readers): no round trip to half.
      emit("addIdentity", t.name + "/float", {f->second}, {t.name});
      read_[id] = t.name + "/half";
      return;
    }
    Call& c = emit("addCast", t.name + "/to_float", {t.name + "/half"}, {t.name});
    c.args.emplace_back("toType", Arg::of_name(type_name(TrtType::kFloat)));
    read_[id] = t.name + "/half";
    return;
  }
  read_[id] = t.name;
}

std::string Mapper::uniform_scale(const std::string& what, const std::string& x, const std::vector<int64_t>& dims,
                                  double shift, double scale, double power, const std::string& out) {
  const TrtType type = plan_.compute_type;
  const std::string s = value_weights(tmp(what + "_shift"), type, {1}, {shift});
  const std::string a = value_weights(tmp(what + "_scale"), type, {1}, {scale});
  const std::string p = value_weights(tmp(what + "_power"), type, {1}, {power});
  const bool view = dims.size() + 1 < kScaleMinRank;
  const std::string in = view ? reshape(what + "_4d", x, {volume_of(dims), 1, 1}, tmp(what + "_4d")) : x;
  const std::string scaled = view ? tmp(what + "_scaled") : out;
  Call& c = emit("addScale", tmp(what), {in}, {scaled});
  c.args.emplace_back("mode", Arg::of_name("kUNIFORM"));
  c.args.emplace_back("shift", Arg::of_name(s));
  c.args.emplace_back("scale", Arg::of_name(a));
  c.args.emplace_back("power", Arg::of_name(p));
  if (view) reshape(what + "_back", scaled, dims, out);
  return out;
}

std::string Mapper::runtime_batch(const std::string& x) {
  auto it = batch_of_.find(x);
  if (it != batch_of_.end()) return it->second;
  const std::string shape = x + "/shape";
  emit("addShape", shape, {x}, {shape});
  const std::string batch = x + "/batch";
  Call& c = emit("addSlice", batch, {shape}, {batch});
  c.args.emplace_back("start", Arg::of_ints({0}));
  c.args.emplace_back("size", Arg::of_ints({1}));
  c.args.emplace_back("stride", Arg::of_ints({1}));
  batch_of_[x] = batch;
  return batch;
}

std::string Mapper::batch_slice(const std::string& what, const std::string& x, const std::vector<int64_t>& start,
                                const std::vector<int64_t>& size, const std::string& out,
                                const std::string& batch_from) {
  const std::string batch = runtime_batch(batch_from.empty() ? x : batch_from);
  std::vector<double> rest(size.begin(), size.end());
  value_weights(tmp(what + "_size_rest"), TrtType::kInt64, {static_cast<int64_t>(size.size())}, rest);
  const std::string rest_t = constant(tmp(what + "_size_rest"));
  Call& cat = emit("addConcatenation", tmp(what + "_size"), {batch, rest_t}, {tmp(what + "_size")});
  cat.args.emplace_back("axis", Arg::of_int(0));
  std::vector<int64_t> s{0}, z{-1}, one(size.size() + 1, 1);
  s.insert(s.end(), start.begin(), start.end());
  z.insert(z.end(), size.begin(), size.end());
  Call& c = emit("addSlice", tmp(what), {x, "", tmp(what + "_size")}, {out});
  c.args.emplace_back("start", Arg::of_ints(s));
  c.args.emplace_back("size", Arg::of_ints(z));  // -1: the batch, from input 2
  c.args.emplace_back("stride", Arg::of_ints(one));
  if (!batch_from.empty()) c.args.emplace_back("mode", Arg::of_name("kCLAMP"));
  return out;
}

std::string Mapper::read_float(int id, size_t i) {
  const auto f = float_.find(id);
  if (f != float_.end()) return f->second;
  if (plan_.compute_type != TrtType::kHalf || g_.tensors[id].indices) return read(id);
  return cast("input" + std::to_string(i) + "_float", read(id), TrtType::kFloat,
              tmp("input" + std::to_string(i) + "_float"));
}

Status Mapper::run() {
  plan_.max_batch = g_.max_batch;
  plan_.tf32 = g_.precision == Precision::kTF32;
  plan_.compute_type = g_.precision == Precision::kFP16 ? TrtType::kHalf : TrtType::kFloat;
  for (int id : g_.inputs) {
    const TensorDesc& t = g_.tensors[id];
    std::vector<int64_t> dims{-1};
    dims.insert(dims.end(), t.dims.begin(), t.dims.end());
    const bool image = t.dtype == DType::kUInt8;
    Call& c = emit("addInput", t.name, {}, {t.name});
    c.args.emplace_back("type", Arg::of_name(type_name(image ? TrtType::kUInt8 : TrtType::kFloat)));
    c.args.emplace_back("dimensions", Arg::of_ints(dims));
    c.args.emplace_back("profileMin", Arg::of_int(1));
    c.args.emplace_back("profileOpt", Arg::of_int(g_.max_batch));
    c.args.emplace_back("profileMax", Arg::of_int(g_.max_batch));
    read_[id] = t.name;
    // Image bytes go straight to their Preprocess node, which makes the network's input.
    if (plan_.compute_type == TrtType::kHalf && !image) {
      // Strongly typed FP16: the float input is cast once; every layer after it is typed half.
      Call& k = emit("addCast", t.name + "/to_half", {t.name}, {t.name + "/half"});
      k.args.emplace_back("toType", Arg::of_name(type_name(TrtType::kHalf)));
      read_[id] = t.name + "/half";
    }
  }
  for (const Node& n : g_.nodes) {
    node_ = &n;
    TRTN_TRY(map_node());
    for (int out : n.outputs) finish(out);
  }
  node_ = nullptr;
  for (int id : g_.outputs) {
    Call& c = emit("markOutput", g_.tensors[id].name, {g_.tensors[id].name}, {});
    c.args.emplace_back("type", Arg::of_name(type_name(TrtType::kFloat)));
  }
  return Status::ok();
}

Status Mapper::map_node() {
  // One case per OpKind (core/op_kind.h): a new op without a mapping is a compiler warning (-Wswitch).
  switch (node_->kind) {
    case OpKind::kConvolution: return map_conv(false);
    case OpKind::kDeconvolution: return map_conv(true);
    case OpKind::kInnerProduct: return map_inner_product();
    case OpKind::kPooling: return map_pooling();
    case OpKind::kLRN: return map_lrn();
    case OpKind::kReLU:
    case OpKind::kELU:
    case OpKind::kSigmoid:
    case OpKind::kTanH:
    case OpKind::kAbsVal:
    case OpKind::kPower:
    case OpKind::kBNLL:
    case OpKind::kExp:
    case OpKind::kLog:
    case OpKind::kThreshold:
    case OpKind::kClip:
    case OpKind::kSwish: return map_activation();
    case OpKind::kPReLU: return map_prelu();
    case OpKind::kSoftmax: return map_softmax();
    case OpKind::kConcat: return map_concat();
    case OpKind::kEltwise: return map_eltwise();
    case OpKind::kBatchNorm:
    case OpKind::kScale:
    case OpKind::kBias: return map_channel_affine();
    case OpKind::kFlatten:
    case OpKind::kReshape: return map_reshape();
    case OpKind::kSlice: return map_slice();
    case OpKind::kCrop: return map_crop();
    case OpKind::kTile: return map_tile();
    case OpKind::kShuffleChannel: return map_shuffle_channel();
    case OpKind::kPermute: return map_permute();
    case OpKind::kNormalize: return map_normalize();
    case OpKind::kPriorBox: return map_prior_box();
    case OpKind::kDetectionOutput: return map_node_plugin();
    case OpKind::kUpsample: return map_resize(false);
    case OpKind::kInterp: return map_resize(true);
    case OpKind::kArgMax: return map_argmax();
    case OpKind::kReduction: return map_reduction();
    case OpKind::kMVN: return map_mvn();
    case OpKind::kEmbed: return map_embed();
    case OpKind::kROIPooling:
    case OpKind::kPSROIPooling:
    case OpKind::kProposal: return map_node_plugin();  // a row per region: TensorRT's dimension 0 is images x rows
    case OpKind::kPlugin: return map_node_plugin();
    case OpKind::kQuantize: return map_quantize();
    case OpKind::kPreprocess: return map_preprocess();
  }
  return unsupported("no TensorRT mapping for this op");
}

// --- GEMM ops ---------------------------------------------------------------------------------

Status Mapper::map_conv(bool deconv) {
  const OpInit in = init();
  ConvGeometry g;
  TRTN_TRY(read_conv_geometry(in, deconv, &g));
  TRTN_TRY(check_gemm_dtypes(in));
  const size_t axes = g.kernel.size();
  if (axes > 3) {
    return unsupported("TensorRT convolves over 2 or 3 spatial axes (1 through a reshape); this node has " +
                       std::to_string(axes));
  }
  const bool int8 = node_->precision == Precision::kINT8;
  std::vector<int64_t> wdims = deconv ? std::vector<int64_t>{g.channels_in, g.channels_out / g.group}
                                      : std::vector<int64_t>{g.channels_out, g.channels_in / g.group};
  wdims.insert(wdims.end(), g.kernel.begin(), g.kernel.end());
  const Blob *w = nullptr, *b = nullptr, *ws = nullptr;
  TRTN_TRY(find_gemm_blobs(in, wdims, g.channels_out, &w, &b, &ws));

  // One spatial axis runs as two, the second of size 1 (kernel 1, stride 1, no padding).
  const bool one_d = axes == 1;
  std::vector<int64_t> kernel = g.kernel, stride = g.stride, pad = g.pad, dilation = g.dilation;
  std::vector<int64_t> kdims = wdims;
  if (one_d) {
    kernel.push_back(1);
    stride.push_back(1);
    pad.push_back(0);
    dilation.push_back(1);
    kdims.push_back(1);
  }
  // Weights: Caffe's [C_out, C_in / group, k...] (deconvolution [C_in, C_out / group, k...]) is
  // TensorRT's KCRS (CKRS) order, so the blob goes in unchanged. INT8 kernels are int8 constants
  // dequantized per output channel, the pattern TensorRT fuses into an INT8 convolution.
  const std::string wid = node_->name + "/weights";
  std::string kernel_tensor;
  if (int8) {
    blob_weights(wid, TrtType::kInt8, kdims, wid);
    const std::string wt = constant(wid);
    blob_weights(node_->name + "/wscale", TrtType::kFloat, {g.channels_out}, node_->name + "/wscale");
    const std::string st_ = constant(node_->name + "/wscale");
    kernel_tensor = tmp("kernel");
    Call& dq = emit("addDequantize", tmp("kernel_dequantize"), {wt, st_}, {kernel_tensor});
    dq.args.emplace_back("outputType", Arg::of_name(type_name(TrtType::kFloat)));
    dq.args.emplace_back("axis", Arg::of_int(0));
  } else {
    blob_weights(wid, plan_.compute_type, kdims, wid);
  }
  const std::string bid =
      blob_weights(node_->name + "/bias", plan_.compute_type, {g.channels_out}, node_->name + "/bias");

  for (size_t i = 0; i < node_->inputs.size(); ++i) {
    const int out_id = node_->outputs[i];
    const std::string suffix = node_->inputs.size() > 1 ? std::to_string(i) : "";
    std::string x = read(node_->inputs[i]);
    if (one_d) x = reshape("to_2d" + suffix, x, {g.channels_in, g.in[0], 1}, tmp("in_2d" + suffix));
    const bool post = node_->activation.relu || one_d;
    const std::string conv_out = post ? tmp((deconv ? "deconv" : "conv") + suffix) : produce(out_id);
    Call& c = emit(deconv ? "addDeconvolutionNd" : "addConvolutionNd", tmp((deconv ? "deconv" : "conv") + suffix),
                   int8 ? std::vector<std::string>{x, kernel_tensor} : std::vector<std::string>{x}, {conv_out});
    c.args.emplace_back("nbOutputMaps", Arg::of_int(g.channels_out));
    c.args.emplace_back("kernelSize", Arg::of_ints(kernel));
    c.args.emplace_back("kernelWeights", Arg::of_name(int8 ? "" : wid));
    c.args.emplace_back("biasWeights", Arg::of_name(bid));
    c.args.emplace_back("stride", Arg::of_ints(stride));
    c.args.emplace_back("prePadding", Arg::of_ints(pad));
    c.args.emplace_back("postPadding", Arg::of_ints(pad));
    c.args.emplace_back("dilation", Arg::of_ints(dilation));
    c.args.emplace_back("nbGroups", Arg::of_int(g.group));
    std::string y = conv_out;
    if (one_d) {
      const std::string back = node_->activation.relu ? tmp("out_1d" + suffix) : produce(out_id);
      std::vector<int64_t> dims{g.channels_out, g.out[0]};
      y = reshape("to_1d" + suffix, y, dims, back);
    }
    if (node_->activation.relu) fused_activation(y, produce(out_id));
  }
  return Status::ok();
}

Status Mapper::map_inner_product() {
  const OpInit in = init();
  TRTN_TRY(in.expect_io(1, 1));
  TRTN_TRY(check_gemm_dtypes(in));
  const json::Value& attrs = node_->attrs;
  int64_t n = 0, axis = 1;
  bool transpose = false;
  TRTN_TRY(in.attr_int("numOutput", &n));
  if (attrs.has("axis")) TRTN_TRY(in.attr_int("axis", &axis));
  if (attrs.has("transpose")) TRTN_TRY(in.attr_bool("transpose", &transpose));
  const std::vector<int64_t>& x_dims = in.input(0).dims;
  const int64_t rank = static_cast<int64_t>(x_dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 1 || axis >= rank) return in.error("axis must be in [1, " + std::to_string(rank - 1) + "]");
  int64_t k = 1;
  for (int64_t i = axis - 1; i < rank - 1; ++i) k *= x_dims[i];
  // The input as [N, rows..., K]: the dims before the axis stay, the rest flattens into K.
  std::vector<int64_t> rows(x_dims.begin(), x_dims.begin() + (axis - 1));
  std::vector<int64_t> flat = rows;
  flat.push_back(k);
  std::vector<int64_t> want = rows;
  want.push_back(n);
  if (in.output(0).dims != want) return in.error("output '" + in.output(0).name + "' has the wrong shape");
  const std::vector<int64_t> wdims = transpose ? std::vector<int64_t>{k, n} : std::vector<int64_t>{n, k};
  const Blob *w = nullptr, *b = nullptr, *ws = nullptr;
  TRTN_TRY(find_gemm_blobs(in, wdims, n, &w, &b, &ws));

  std::string x = read(node_->inputs[0]);
  if (flat != x_dims) x = reshape("flatten", x, flat, tmp("flat"));
  // Weights as a constant of the input's rank (leading 1s broadcast over the batch and rows).
  const size_t lead = flat.size() - 1;  // rank of [N, rows..., K] minus 2
  std::vector<int64_t> cdims(lead, 1);
  cdims.insert(cdims.end(), wdims.begin(), wdims.end());
  const std::string wid = node_->name + "/weights";
  std::string weights;
  if (node_->precision == Precision::kINT8) {
    blob_weights(wid, TrtType::kInt8, cdims, wid);
    const std::string wt = constant(wid);
    blob_weights(node_->name + "/wscale", TrtType::kFloat, {n}, node_->name + "/wscale");
    const std::string s = constant(node_->name + "/wscale");
    weights = tmp("weights_dequantized");
    Call& dq = emit("addDequantize", tmp("weights_dequantize"), {wt, s}, {weights});
    dq.args.emplace_back("outputType", Arg::of_name(type_name(TrtType::kFloat)));
    dq.args.emplace_back("axis", Arg::of_int(static_cast<int64_t>(lead) + (transpose ? 1 : 0)));
  } else {
    blob_weights(wid, plan_.compute_type, cdims, wid);
    weights = constant(wid);
  }
  const bool has_bias = std::any_of(b->f32.begin(), b->f32.end(), [](float v) { return v != 0.0f; });
  const bool relu = node_->activation.relu;
  const std::string out = produce(node_->outputs[0]);
  const std::string mm_out = has_bias || relu ? tmp("matmul") : out;
  Call& mm = emit("addMatrixMultiply", tmp("matmul"), {x, weights}, {mm_out});
  mm.args.emplace_back("op0", Arg::of_name("kNONE"));
  mm.args.emplace_back("op1", Arg::of_name(transpose ? "kNONE" : "kTRANSPOSE"));
  std::string y = mm_out;
  if (has_bias) {
    std::vector<int64_t> bdims(lead + 1, 1);
    bdims.push_back(n);
    blob_weights(node_->name + "/bias", plan_.compute_type, bdims, node_->name + "/bias");
    const std::string bias = constant(node_->name + "/bias");
    y = elementwise("bias", y, bias, "kSUM", relu ? tmp("biased") : out);
  }
  if (relu) fused_activation(y, out);
  return Status::ok();
}

// --- pooling and normalisation ------------------------------------------------------------------

std::string Mapper::pool_call(const std::string& what, const std::string& x, const char* type, const PoolingParams& p,
                              int64_t extra_h, int64_t extra_w, const std::string& out) {
  Call& c = emit("addPoolingNd", tmp(what), {x}, {out});
  c.args.emplace_back("type", Arg::of_name(type));
  c.args.emplace_back("windowSize", Arg::of_ints({p.kernel_h, p.kernel_w}));
  c.args.emplace_back("stride", Arg::of_ints({p.stride_h, p.stride_w}));
  c.args.emplace_back("prePadding", Arg::of_ints({p.pad_h, p.pad_w}));
  c.args.emplace_back("postPadding", Arg::of_ints({p.pad_h + extra_h, p.pad_w + extra_w}));
  c.args.emplace_back("paddingMode", Arg::of_name("kEXPLICIT_ROUND_DOWN"));
  if (std::string(type) == "kAVERAGE") c.args.emplace_back("averageCountExcludesPadding", Arg::of_bool(false));
  return out;
}

/// Extra post-padding that makes TensorRT's floor rule give Caffe's pooled size `out`: the last
/// window must fit in in + pad + post (never below the symmetric pad: Caffe's rule then already
/// agrees with the floor of the symmetric padding).
int64_t extra_post_padding(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t out) {
  return std::max<int64_t>(0, (out - 1) * stride + kernel - (in + 2 * pad));
}

Status Mapper::map_pooling() {
  PoolingParams p;
  TRTN_TRY(read_pooling_params(init(), &p));
  if (p.mask) return map_node_plugin();  // TensorRT's pooling has no argmax output
  const int64_t eh = extra_post_padding(p.height, p.kernel_h, p.stride_h, p.pad_h, p.out_h);
  const int64_t ew = extra_post_padding(p.width, p.kernel_w, p.stride_w, p.pad_w, p.out_w);
  const std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  if (p.method == PoolMethod::kMax) {
    pool_call("pool", x, "kMAX", p, eh, ew, out);
    return Status::ok();
  }
  if (p.method == PoolMethod::kStochastic) {
    // Caffe's TEST-phase stochastic pooling is sum(x^2) / sum(x) over the window: the ratio of
    // two averages over the same window (the divisors cancel; there is no padding).
    const std::string sq = elementwise("square", x, x, "kPROD", tmp("square"));
    const std::string num = pool_call("pool_square", sq, "kAVERAGE", p, eh, ew, tmp("pool_square"));
    const std::string den = pool_call("pool", x, "kAVERAGE", p, eh, ew, tmp("pool"));
    elementwise("weighted", num, den, "kDIV", out);
    return Status::ok();
  }
  // AVE: with the count including padding, TensorRT divides by the window's overlap with the
  // padded input (pre + in + post). Caffe divides by the overlap with [-pad, in + pad), so the
  // two agree except for windows reaching into the extra post-padding of ceil mode; those get a
  // per-position factor (TensorRT's divisor / Caffe's), applied by one multiply.
  std::vector<double> factor(static_cast<size_t>(p.out_h * p.out_w), 1.0);
  bool corrected = false;
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    const PoolSpan hs = pool_window(oh, p.stride_h, p.pad_h, p.kernel_h, p.height);
    const int64_t th =
        std::min(oh * p.stride_h - p.pad_h + p.kernel_h, p.height + p.pad_h + eh) - (oh * p.stride_h - p.pad_h);
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const PoolSpan ws = pool_window(ow, p.stride_w, p.pad_w, p.kernel_w, p.width);
      const int64_t tw =
          std::min(ow * p.stride_w - p.pad_w + p.kernel_w, p.width + p.pad_w + ew) - (ow * p.stride_w - p.pad_w);
      const int64_t caffe = hs.size * ws.size, trt = th * tw;
      if (caffe != trt && caffe > 0) {
        factor[oh * p.out_w + ow] = static_cast<double>(trt) / static_cast<double>(caffe);
        corrected = true;
      }
    }
  }
  if (!corrected) {
    pool_call("pool", x, "kAVERAGE", p, eh, ew, out);
    return Status::ok();
  }
  const std::string pooled = pool_call("pool", x, "kAVERAGE", p, eh, ew, tmp("pool"));
  const std::string f = broadcast_constant(tmp("ave_divisor_correction"), 4, 2, {p.out_h, p.out_w}, factor);
  elementwise("ave_divisor", pooled, f, "kPROD", out);
  return Status::ok();
}

Status Mapper::map_lrn() {
  LrnParams p;
  TRTN_TRY(read_lrn_params(init(), &p));
  const std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  const std::vector<int64_t> dims{p.channels, p.height, p.width};
  if (p.across_channels && p.size <= kMaxLrnWindow) {
    // TensorRT's LRN is Caffe's ACROSS_CHANNELS: alpha is divided by the window, as NVIDIA's own
    // Caffe parser passed Caffe's parameters straight through.
    Call& c = emit("addLRN", tmp("lrn"), {x}, {out});
    c.args.emplace_back("window", Arg::of_int(p.size));
    c.args.emplace_back("alpha", Arg::of_float(p.alpha));
    c.args.emplace_back("beta", Arg::of_float(p.beta));
    c.args.emplace_back("k", Arg::of_float(p.k));
    return Status::ok();
  }
  // Composed: the average of x^2 over the window (AVE pooling, padding counted, so the divisor is
  // always the full window), then (shift + alpha avg)^-beta, times x. ACROSS_CHANNELS pools a
  // [N, 1, C, H*W] view along C with shift k; WITHIN_CHANNEL pools size x size with shift 1.
  const int64_t half = (p.size - 1) / 2;
  const std::string sq = elementwise("square", x, x, "kPROD", tmp("square"));
  PoolingParams pool;
  std::string avg;
  if (p.across_channels) {
    const std::string view = reshape("channels_view", sq, {1, p.channels, p.height * p.width}, tmp("channels_view"));
    pool.kernel_h = p.size;
    pool.kernel_w = 1;
    pool.pad_h = half;
    pool.pad_w = 0;
    const std::string pooled = pool_call("window_average", view, "kAVERAGE", pool, 0, 0, tmp("window_average"));
    avg = reshape("average", pooled, dims, tmp("average"));
  } else {
    pool.kernel_h = pool.kernel_w = p.size;
    pool.pad_h = pool.pad_w = half;
    avg = pool_call("window_average", sq, "kAVERAGE", pool, 0, 0, tmp("window_average"));
  }
  const double shift = p.across_channels ? p.k : 1.0;
  const std::string scale =
      uniform_scale("scale", avg, dims, shift, p.alpha, -static_cast<double>(p.beta), tmp("scale"));
  elementwise("normalize", x, scale, "kPROD", out);
  return Status::ok();
}

// --- activations --------------------------------------------------------------------------------

Status Mapper::map_activation() {
  ActivationParams p;
  TRTN_TRY(read_activation_params(init(), &p));
  const std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  const std::vector<int64_t>& dims = tensor(node_->inputs[0]).dims;
  const size_t r = rank(tensor(node_->inputs[0]));
  switch (p.kind) {
    case ActivationKind::kRelu:
      if (p.slope == 0.0f)
        activation("relu", x, "kRELU", out);
      else
        activation("relu", x, "kLEAKY_RELU", out, p.slope, 0, true);
      break;
    case ActivationKind::kElu: activation("elu", x, "kELU", out, p.alpha, 0, true); break;
    case ActivationKind::kSigmoid: activation("sigmoid", x, "kSIGMOID", out); break;
    case ActivationKind::kTanh: activation("tanh", x, "kTANH", out); break;
    case ActivationKind::kAbs: unary("abs", x, "kABS", out); break;
    case ActivationKind::kPower: uniform_scale("power", x, dims, p.shift, p.scale, p.power, out); break;
    case ActivationKind::kConstant:
      // Caffe ignores the input; 0 x + value is that value for every finite input.
      uniform_scale("power", x, dims, p.value, 0.0, 1.0, out);
      break;
    case ActivationKind::kBnll:
      // log(1 + e^x): TensorRT's parametric softplus with alpha = beta = 1.
      activation("bnll", x, "kSOFTPLUS", out, 1.0, 1.0, true);
      break;
    case ActivationKind::kExp: {
      const bool affine = p.inner != 1.0f || p.offset != 0.0f;
      const std::string in =
          affine ? uniform_scale("exp_argument", x, dims, p.offset, p.inner, 1.0, tmp("exp_argument")) : x;
      unary("exp", in, "kEXP", out);
      break;
    }
    case ActivationKind::kLog: {
      const bool affine = p.scale != 1.0f || p.shift != 0.0f;
      const bool base = p.base_scale != 1.0f;
      const std::string in =
          affine ? uniform_scale("log_argument", x, dims, p.shift, p.scale, 1.0, tmp("log_argument")) : x;
      const std::string ln = unary("log", in, "kLOG", base ? tmp("ln") : out);
      if (base) uniform_scale("log_base", ln, dims, 0.0, p.base_scale, 1.0, out);
      break;
    }
    case ActivationKind::kThreshold: {
      const std::string t = scalar_constant(tmp("threshold"), r, p.threshold);
      const std::string above = elementwise("greater", x, t, "kGREATER", tmp("greater"));
      cast("to_number", above, plan_.compute_type, out);
      break;
    }
    case ActivationKind::kClip: activation("clip", x, "kCLIP", out, p.lo, p.hi, true); break;
    case ActivationKind::kSwish: {
      const std::string in = p.beta != 1.0f ? uniform_scale("beta_x", x, dims, 0.0, p.beta, 1.0, tmp("beta_x")) : x;
      const std::string s = activation("sigmoid", in, "kSIGMOID", tmp("sigmoid"));
      elementwise("swish", x, s, "kPROD", out);
      break;
    }
  }
  return Status::ok();
}

Status Mapper::map_prelu() {
  PReluParams p;
  const OpInit in = init();
  TRTN_TRY(read_prelu_params(in, &p));
  bool shared = false;
  TRTN_TRY(in.attr_bool("channelShared", &shared));
  const size_t r = rank(tensor(node_->inputs[0]));
  // The slopes as a constant broadcast over every dim but the channels (all dims when shared).
  std::vector<int64_t> d(r, 1);
  if (!shared) d[1] = p.channels;
  blob_weights(node_->name + "/slope", plan_.compute_type, d, node_->name + "/0");
  const std::string slope = constant(node_->name + "/slope");
  emit("addParametricReLU", tmp("prelu"), {read(node_->inputs[0]), slope}, {produce(node_->outputs[0])});
  return Status::ok();
}

// --- structure ----------------------------------------------------------------------------------

Status Mapper::map_softmax() {
  SoftmaxParams p;
  TRTN_TRY(read_softmax_params(init(), &p));
  Call& c = emit("addSoftMax", tmp("softmax"), {read(node_->inputs[0])}, {produce(node_->outputs[0])});
  c.args.emplace_back("axes", Arg::of_int(axes_mask(p.axis, p.axis + 1)));
  return Status::ok();
}

Status Mapper::map_concat() {
  ConcatParams p;
  TRTN_TRY(read_concat_params(init(), &p));
  std::vector<std::string> ins;
  for (int id : node_->inputs) ins.push_back(read(id));
  Call& c = emit("addConcatenation", tmp("concat"), ins, {produce(node_->outputs[0])});
  c.args.emplace_back("axis", Arg::of_int(p.axis));
  return Status::ok();
}

Status Mapper::map_eltwise() {
  EltwiseParams p;
  TRTN_TRY(read_eltwise_params(init(), &p));
  const size_t n = node_->inputs.size();
  const size_t r = rank(tensor(node_->outputs[0]));
  const bool relu = node_->activation.relu;
  const std::string out = produce(node_->outputs[0]);
  const char* op = p.op == EltwiseOp::kSum ? "kSUM" : p.op == EltwiseOp::kProd ? "kPROD" : "kMAX";
  // Caffe's order: input 0 first, then each further input in turn; SUM scales an input by its
  // coefficient first (none when it is 1).
  auto term = [&](size_t i) {
    std::string x = read(node_->inputs[i]);
    if (p.op != EltwiseOp::kSum || p.coeff[i] == 1.0f) return x;
    const std::string c = scalar_constant(tmp("coeff" + std::to_string(i)), r, p.coeff[i]);
    return elementwise("scaled" + std::to_string(i), x, c, "kPROD", tmp("scaled" + std::to_string(i)));
  };
  std::string acc = term(0);
  for (size_t i = 1; i < n; ++i) {
    const bool last = i + 1 == n;
    const std::string name = last && !relu ? out : tmp("acc" + std::to_string(i));
    acc = elementwise("eltwise" + std::to_string(i), acc, term(i), op, name);
  }
  if (relu) fused_activation(acc, out);
  return Status::ok();
}

Status Mapper::map_channel_affine() {
  ChannelAffineParams p;
  const OpInit in = init();
  TRTN_TRY(read_channel_affine_params(in, &p));
  const TensorDesc& xt = tensor(node_->inputs[0]);
  const size_t r = rank(xt);
  const std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  const TrtType type = plan_.compute_type;
  const int64_t channels = xt.dims.empty() ? 1 : xt.dims[0];
  if (p.kind == ChannelAffineParams::Kind::kGlobalBatchNorm) {
    // (x - mean) * inv_std in the cpu's order: a shift, then a scale (each exact to one rounding).
    std::vector<double> neg_mean, inv_std(p.inv_std.begin(), p.inv_std.end());
    for (float m : p.mean) neg_mean.push_back(-static_cast<double>(m));
    if (r >= kScaleMinRank) {
      const std::string s = value_weights(tmp("neg_mean"), type, {channels}, neg_mean);
      const std::string a = value_weights(tmp("inv_std"), type, {channels}, inv_std);
      Call& c1 = emit("addScaleNd", tmp("center"), {x}, {tmp("centered")});
      c1.args.emplace_back("mode", Arg::of_name("kCHANNEL"));
      c1.args.emplace_back("shift", Arg::of_name(s));
      c1.args.emplace_back("scale", Arg::of_name(""));
      c1.args.emplace_back("power", Arg::of_name(""));
      c1.args.emplace_back("channelAxis", Arg::of_int(1));
      Call& c2 = emit("addScaleNd", tmp("normalize"), {tmp("centered")}, {out});
      c2.args.emplace_back("mode", Arg::of_name("kCHANNEL"));
      c2.args.emplace_back("shift", Arg::of_name(""));
      c2.args.emplace_back("scale", Arg::of_name(a));
      c2.args.emplace_back("power", Arg::of_name(""));
      c2.args.emplace_back("channelAxis", Arg::of_int(1));
    } else {
      const std::string s = broadcast_constant(tmp("neg_mean"), r, 1, {channels}, neg_mean);
      const std::string a = broadcast_constant(tmp("inv_std"), r, 1, {channels}, inv_std);
      const std::string c = elementwise("center", x, s, "kSUM", tmp("centered"));
      elementwise("normalize", c, a, "kPROD", out);
    }
    return Status::ok();
  }
  if (p.kind == ChannelAffineParams::Kind::kBatchStatsBatchNorm) {
    // The batch's own statistics per channel: averages over every axis but 1, biased variance.
    const int64_t mask = static_cast<int64_t>(axes_mask(0, static_cast<int64_t>(r)) & ~axes_mask(1, 2));
    Call& m = emit("addReduce", tmp("mean"), {x}, {tmp("mean")});
    m.args.emplace_back("operation", Arg::of_name("kAVG"));
    m.args.emplace_back("reduceAxes", Arg::of_int(mask));
    m.args.emplace_back("keepDimensions", Arg::of_bool(true));
    const std::string d = elementwise("center", x, tmp("mean"), "kSUB", tmp("centered"));
    const std::string sq = elementwise("square", d, d, "kPROD", tmp("square"));
    Call& v = emit("addReduce", tmp("variance"), {sq}, {tmp("variance")});
    v.args.emplace_back("operation", Arg::of_name("kAVG"));
    v.args.emplace_back("reduceAxes", Arg::of_int(mask));
    v.args.emplace_back("keepDimensions", Arg::of_bool(true));
    const std::string eps = scalar_constant(tmp("eps"), r, p.eps);
    const std::string ve = elementwise("add_eps", tmp("variance"), eps, "kSUM", tmp("variance_eps"));
    const std::string sd = unary("std", ve, "kSQRT", tmp("std"));
    elementwise("normalize", d, sd, "kDIV", out);
    return Status::ok();
  }
  // Scale / Bias: the operand's dims among the per-image dims, as read_channel_affine_params
  // worked them out.
  int64_t axis = 0, num_axes = 0;
  TRTN_TRY(in.attr_int("axis", &axis));
  TRTN_TRY(in.attr_int("numAxes", &num_axes));
  const int64_t rk = static_cast<int64_t>(r);
  if (axis < 0) axis += rk;
  int64_t first = 0, last = 0;
  const bool from_input = node_->inputs.size() == 2;
  if (from_input) {
    last = static_cast<int64_t>(tensor(node_->inputs[1]).dims.size());
  } else {
    const int64_t end = num_axes == -1 ? rk : axis + num_axes;
    first = std::max<int64_t>(axis - 1, 0);
    last = std::max<int64_t>(end - 1, 0);
  }
  std::vector<int64_t> odims(xt.dims.begin() + first, xt.dims.begin() + last);
  const bool is_scale = node_->kind == OpKind::kScale;
  const bool has_scale = p.scale.source != AffineOperand::Source::kNone;
  const bool has_bias = p.bias.source != AffineOperand::Source::kNone;
  const std::string scale_blob = node_->name + "/0";
  const std::string bias_blob = node_->name + (is_scale ? "/1" : "/0");
  if (!from_input && first == 0 && last == 1 && r >= kScaleMinRank) {
    // Per-channel operands on a 4-D or wider input: one Scale layer (x * scale + shift).
    std::string s, a;
    if (has_scale) a = blob_weights(tmp("scale"), type, {channels}, scale_blob);
    if (has_bias) s = blob_weights(tmp("shift"), type, {channels}, bias_blob);
    Call& c = emit("addScaleNd", tmp("scale"), {x}, {out});
    c.args.emplace_back("mode", Arg::of_name("kCHANNEL"));
    c.args.emplace_back("shift", Arg::of_name(s));
    c.args.emplace_back("scale", Arg::of_name(a));
    c.args.emplace_back("power", Arg::of_name(""));
    c.args.emplace_back("channelAxis", Arg::of_int(1));
    return Status::ok();
  }
  // Otherwise broadcast operands of the input's rank: learned blobs as constants, a second input
  // reshaped with trailing 1s. Multiply, then add (Caffe's two roundings).
  std::vector<int64_t> cdims(r, 1);
  for (int64_t d = first; d < last; ++d) cdims[d + 1] = xt.dims[d];
  auto operand = [&](const AffineOperand& o, const std::string& blob, const std::string& what) {
    if (o.source == AffineOperand::Source::kInput) {
      std::vector<int64_t> dims(cdims.begin() + 1, cdims.end());
      return reshape(what + "_view", read(node_->inputs[1]), dims, tmp(what + "_view"));
    }
    blob_weights(tmp(what), type, cdims, blob);
    return constant(tmp(what));
  };
  std::string y = x;
  if (has_scale)
    y = elementwise("multiply", y, operand(p.scale, scale_blob, "scale"), "kPROD", has_bias ? tmp("scaled") : out);
  if (has_bias) elementwise("add", y, operand(p.bias, bias_blob, "bias"), "kSUM", out);
  if (!has_scale && !has_bias) emit("addIdentity", tmp("identity"), {x}, {out});
  return Status::ok();
}

Status Mapper::map_reshape() {
  ReshapeParams p;
  TRTN_TRY(read_reshape_params(init(), &p));
  reshape("reshape", read(node_->inputs[0]), tensor(node_->outputs[0]).dims, produce(node_->outputs[0]));
  return Status::ok();
}

Status Mapper::map_slice() {
  SliceParams p;
  TRTN_TRY(read_slice_params(init(), &p));
  int64_t axis = 0;
  TRTN_TRY(init().attr_int("axis", &axis));
  const TensorDesc& xt = tensor(node_->inputs[0]);
  const std::string x = read(node_->inputs[0]);
  for (size_t k = 0; k < node_->outputs.size(); ++k) {
    std::vector<int64_t> start(xt.dims.size(), 0);
    start[axis - 1] = p.starts[k];
    batch_slice("slice" + std::to_string(k), x, start, tensor(node_->outputs[k]).dims, produce(node_->outputs[k]));
  }
  return Status::ok();
}

Status Mapper::map_crop() {
  CropParams p;
  TRTN_TRY(read_crop_params(init(), &p));
  // Input 1 only lends its shape, which the graph already fixed.
  batch_slice("crop", read(node_->inputs[0]), p.offsets, p.out_dims, produce(node_->outputs[0]));
  return Status::ok();
}

Status Mapper::map_tile() {
  TileParams p;
  TRTN_TRY(read_tile_params(init(), &p));
  int64_t axis = 0;
  TRTN_TRY(init().attr_int("axis", &axis));
  // Caffe repeats the whole block from the axis on, which is the input concatenated with itself
  // `tiles` times along the axis.
  const std::vector<std::string> copies(static_cast<size_t>(p.tiles), read(node_->inputs[0]));
  Call& c = emit("addConcatenation", tmp("tile"), copies, {produce(node_->outputs[0])});
  c.args.emplace_back("axis", Arg::of_int(axis));
  return Status::ok();
}

Status Mapper::map_shuffle_channel() {
  ShuffleChannelParams p;
  TRTN_TRY(read_shuffle_channel_params(init(), &p));
  // [N, C, ...] viewed as [N, group, C / group, plane], the middle two swapped (one shuffle: its
  // reshape, then its second transpose), then back to the input's shape.
  Call& c = emit("addShuffle", tmp("transpose"), {read(node_->inputs[0])}, {tmp("transposed")});
  c.args.emplace_back("reshapeDimensions", Arg::of_ints({0, p.group, p.per_group, p.plane}));
  c.args.emplace_back("zeroIsPlaceholder", Arg::of_bool(true));
  c.args.emplace_back("secondTranspose", Arg::of_ints({0, 2, 1, 3}));
  reshape("channels", tmp("transposed"), tensor(node_->inputs[0]).dims, produce(node_->outputs[0]));
  return Status::ok();
}

Status Mapper::map_permute() {
  PermuteParams p;
  TRTN_TRY(read_permute_params(init(), &p));
  std::vector<int64_t> order;
  TRTN_TRY(init().attr_ints("order", &order));
  // One shuffle: its first transpose is the order (the batch stays axis 0).
  Call& c = emit("addShuffle", tmp("permute"), {read(node_->inputs[0])}, {produce(node_->outputs[0])});
  c.args.emplace_back("firstTranspose", Arg::of_ints(order));
  return Status::ok();
}

// --- reductions and lookups --------------------------------------------------------------------

Status Mapper::map_argmax() {
  ArgMaxParams p;
  TRTN_TRY(read_argmax_params(init(), &p));
  const TensorDesc& xt = tensor(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  std::string x = read(node_->inputs[0]);
  int64_t axis = 1;
  if (p.has_axis) {
    TRTN_TRY(init().attr_int("axis", &axis));
  } else if (xt.dims.size() != 1) {
    x = reshape("rows", x, {xt.volume}, tmp("rows"));
  }
  Call& c = emit("addTopK", tmp("topk"), {x}, {tmp("values"), tmp("indices")});
  c.args.emplace_back("operation", Arg::of_name("kMAX"));
  c.args.emplace_back("k", Arg::of_int(p.top_k));
  c.args.emplace_back("reduceAxes", Arg::of_int(axes_mask(axis, axis + 1)));
  c.args.emplace_back("indicesType", Arg::of_name(type_name(TrtType::kInt32)));
  const std::vector<int64_t>& odims = tensor(node_->outputs[0]).dims;
  if (p.has_axis) {
    // Indices, or the values instead of them with outMaxVal (Caffe's rule with an axis).
    if (p.out_max_val)
      emit("addIdentity", tmp("result"), {tmp("values")}, {out});
    else
      cast("indices_as_float", tmp("indices"), plan_.compute_type, out);
    return Status::ok();
  }
  // Per image: the top_k indices (as floats), then the top_k values with outMaxVal.
  const bool reshape_out = odims != std::vector<int64_t>{p.out_max_val ? 2 * p.top_k : p.top_k};
  std::string idx = cast("indices_as_float", tmp("indices"), plan_.compute_type,
                         p.out_max_val || reshape_out ? tmp("indices_float") : out);
  if (p.out_max_val) {
    Call& cat =
        emit("addConcatenation", tmp("with_values"), {idx, tmp("values")}, {reshape_out ? tmp("with_values") : out});
    cat.args.emplace_back("axis", Arg::of_int(1));
    idx = tmp("with_values");
  }
  if (reshape_out) reshape("result", idx, odims, out);
  return Status::ok();
}

Status Mapper::map_reduction() {
  ReductionParams p;
  TRTN_TRY(read_reduction_params(init(), &p));
  int64_t axis = 0;
  TRTN_TRY(init().attr_int("axis", &axis));
  const size_t r = rank(tensor(node_->inputs[0]));
  std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  if (p.op == ReductionOperation::kAsum) x = unary("abs", x, "kABS", tmp("abs"));
  if (p.op == ReductionOperation::kSumSq) x = elementwise("square", x, x, "kPROD", tmp("square"));
  const bool scaled = p.coeff != 1.0;
  Call& c = emit("addReduce", tmp("reduce"), {x}, {scaled ? tmp("reduce") : out});
  c.args.emplace_back("operation", Arg::of_name(p.op == ReductionOperation::kMean ? "kAVG" : "kSUM"));
  c.args.emplace_back("reduceAxes", Arg::of_int(axes_mask(axis, static_cast<int64_t>(r))));
  c.args.emplace_back("keepDimensions", Arg::of_bool(false));
  if (scaled) {
    const std::string k = scalar_constant(tmp("coeff"), static_cast<size_t>(axis), p.coeff);
    elementwise("coeff", tmp("reduce"), k, "kPROD", out);
  }
  return Status::ok();
}

Status Mapper::map_mvn() {
  MvnParams p;
  TRTN_TRY(read_mvn_params(init(), &p));
  const size_t r = rank(tensor(node_->inputs[0]));
  const std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  // A row is one channel (axes 2...) or the whole image (axes 1...). Caffe adds eps to the
  // standard deviation, not the variance, so TensorRT's normalization layer is not used.
  const int64_t first = p.rows_per_image == 1 ? 1 : 2;
  const int64_t mask = axes_mask(first, static_cast<int64_t>(r));
  std::string mean = x;
  if (mask != 0) {
    Call& m = emit("addReduce", tmp("mean"), {x}, {tmp("mean")});
    m.args.emplace_back("operation", Arg::of_name("kAVG"));
    m.args.emplace_back("reduceAxes", Arg::of_int(mask));
    m.args.emplace_back("keepDimensions", Arg::of_bool(true));
    mean = tmp("mean");
  }
  const std::string d = elementwise("center", x, mean, "kSUB", p.normalize_variance ? tmp("centered") : out);
  if (!p.normalize_variance) return Status::ok();
  const std::string sq = elementwise("square", d, d, "kPROD", tmp("square"));
  std::string var = sq;
  if (mask != 0) {
    Call& v = emit("addReduce", tmp("variance"), {sq}, {tmp("variance")});
    v.args.emplace_back("operation", Arg::of_name("kAVG"));
    v.args.emplace_back("reduceAxes", Arg::of_int(mask));
    v.args.emplace_back("keepDimensions", Arg::of_bool(true));
    var = tmp("variance");
  }
  const std::string sd = unary("std", var, "kSQRT", tmp("std"));
  const std::string eps = scalar_constant(tmp("eps"), r, p.eps);
  const std::string den = elementwise("add_eps", sd, eps, "kSUM", tmp("std_eps"));
  elementwise("normalize", d, den, "kDIV", out);
  return Status::ok();
}

Status Mapper::map_resize(bool interp) {
  ResizeParams p;
  TRTN_TRY(interp ? read_interp_params(init(), &p) : read_upsample_params(init(), &p));
  if (p.unpool) return map_node_plugin();  // a scatter to the mask's positions
  const std::string input = read(node_->inputs[0]);
  std::string x = input;
  if (interp && (p.crop != 0 || p.he != p.h || p.we != p.w)) {
    // Interp's pad_beg / pad_end (<= 0) crop the input before it is resized.
    x = batch_slice("crop", x, {0, p.crop, p.crop}, {p.channels, p.he, p.we}, tmp("cropped"));
  }
  // The output's size as a shape tensor: the runtime batch, then [C, H_out, W_out].
  const std::string rest =
      value_weights(tmp("size_rest"), TrtType::kInt64, {3},
                    {static_cast<double>(p.channels), static_cast<double>(p.ho), static_cast<double>(p.wo)});
  Call& size = emit("addConcatenation", tmp("size"), {runtime_batch(input), constant(rest)}, {tmp("size")});
  size.args.emplace_back("axis", Arg::of_int(0));
  // Upsample: nearest, x_in = floor(x_out W / W_out) (asymmetric, rounded down). Interp: bilinear
  // with aligned corners, x_in = x_out (W - 1) / (W_out - 1), and a one-pixel output reads pixel 0.
  Call& c = emit("addResize", tmp("resize"), {x, tmp("size")}, {produce(node_->outputs[0])});
  c.args.emplace_back("resizeMode", Arg::of_name(interp ? "kLINEAR" : "kNEAREST"));
  c.args.emplace_back("coordinateTransformation", Arg::of_name(interp ? "kALIGN_CORNERS" : "kASYMMETRIC"));
  c.args.emplace_back("nearestRounding", Arg::of_name("kFLOOR"));
  c.args.emplace_back("selectorForSinglePixel", Arg::of_name("kUPPER"));
  return Status::ok();
}

Status Mapper::map_normalize() {
  NormalizeParams p;
  TRTN_TRY(read_normalize_params(init(), &p));
  const size_t r = rank(tensor(node_->inputs[0]));
  const std::string x = read(node_->inputs[0]);
  const std::string out = produce(node_->outputs[0]);
  // x / sqrt(sum of squares + eps), the sum over the image (axes 1...) or the channels (axis 1),
  // then the scale per channel (a [1, C, 1 ...] constant).
  const std::string sq = elementwise("square", x, x, "kPROD", tmp("square"));
  Call& s = emit("addReduce", tmp("sum"), {sq}, {tmp("sum")});
  s.args.emplace_back("operation", Arg::of_name("kSUM"));
  s.args.emplace_back("reduceAxes",
                      Arg::of_int(p.across_spatial ? axes_mask(1, static_cast<int64_t>(r)) : axes_mask(1, 2)));
  s.args.emplace_back("keepDimensions", Arg::of_bool(true));
  const std::string eps = scalar_constant(tmp("eps"), r, p.eps);
  const std::string norm =
      unary("norm", elementwise("add_eps", tmp("sum"), eps, "kSUM", tmp("sum_eps")), "kSQRT", tmp("norm"));
  const std::string unit = elementwise("divide", x, norm, "kDIV", tmp("unit"));
  const std::vector<double> scale(p.scale.begin(), p.scale.end());
  const std::string k = broadcast_constant(tmp("scale"), r, 1, {p.channels}, scale);
  elementwise("scale", unit, k, "kPROD", out);
  return Status::ok();
}

Status Mapper::map_embed() {
  EmbedParams p;
  TRTN_TRY(read_embed_params(init(), &p));
  const std::string out = produce(node_->outputs[0]);
  const size_t out_rank = rank(tensor(node_->outputs[0]));
  // Float indices become int32 for the gather along the table's rows.
  const std::string idx = cast("indices", read(node_->inputs[0]), TrtType::kInt32, tmp("indices"));
  blob_weights(node_->name + "/table", plan_.compute_type, {p.input_dim, p.num_output}, node_->name + "/0");
  const std::string table = constant(node_->name + "/table");
  Call& c = emit("addGather", tmp("gather"), {table, idx}, {p.bias != nullptr ? tmp("gathered") : out});
  c.args.emplace_back("axis", Arg::of_int(0));
  if (p.bias != nullptr) {
    std::vector<int64_t> d(out_rank, 1);
    d.back() = p.num_output;
    blob_weights(node_->name + "/bias", plan_.compute_type, d, node_->name + "/1");
    elementwise("bias", tmp("gathered"), constant(node_->name + "/bias"), "kSUM", out);
  }
  return Status::ok();
}

// --- what TensorRT has no layer for ---------------------------------------------------------

Status Mapper::map_prior_box() {
  PriorBoxParams p;
  TRTN_TRY(read_prior_box_params(init(), &p));
  // The boxes depend only on shapes and parameters: a float32 constant of one image, repeated over
  // the feature map's batch. fp16 engines get a half copy; DetectionOutput reads the float32 one.
  const int64_t row = static_cast<int64_t>(p.values.size()) / 2;
  value_weights(tmp("boxes"), TrtType::kFloat, {1, 2, row}, std::vector<double>(p.values.begin(), p.values.end()));
  const std::string boxes = constant(tmp("boxes"));
  const int out = node_->outputs[0];
  const bool half = plan_.compute_type == TrtType::kHalf;
  const std::string f = half ? tmp("float") : produce(out);
  batch_slice("repeat", boxes, {0, 0}, {2, row}, f, read(node_->inputs[0]));
  if (half) cast("to_half", f, TrtType::kHalf, produce(out));
  if (tensor(out).dtype != DType::kInt8) float_[out] = f;
  return Status::ok();
}

Status Mapper::map_node_plugin() {
  // The node runs as the TRTN_Node plugin (node_plugin.h): the cuda backend's op of this node,
  // which the addon lends the module, on float32 NCHW tensors. The plugin carries the node as a
  // graph of its own; its weights are the store's blobs named after the node.
  std::string graph;
  TRTN_TRY(write_node_graph(g_, *node_, &graph));
  std::vector<std::string> inputs;
  for (size_t i = 0; i < node_->inputs.size(); ++i) inputs.push_back(read_float(node_->inputs[i], i));
  const bool half = plan_.compute_type == TrtType::kHalf;
  std::vector<std::string> outputs;
  for (size_t i = 0; i < node_->outputs.size(); ++i) {
    const int id = node_->outputs[i];
    const bool keep = !half || tensor(id).indices;
    outputs.push_back(keep ? produce(id) : tmp("output" + std::to_string(i) + "_float"));
    if (tensor(id).dtype != DType::kInt8) float_[id] = outputs.back();
  }
  Call& c = emit("addPluginV3", tmp("plugin"), inputs, outputs);
  c.args.emplace_back("pluginName", Arg::of_name(kNodePluginName));
  c.args.emplace_back("pluginVersion", Arg::of_name(kNodePluginVersion));
  c.args.emplace_back("pluginNamespace", Arg::of_name(kNodePluginNamespace));
  c.args.emplace_back("graph", Arg::of_name(graph));
  for (size_t i = 0; i < node_->outputs.size(); ++i) {
    const int id = node_->outputs[i];
    if (half && !tensor(id).indices)
      cast("output" + std::to_string(i) + "_to_half", outputs[i], TrtType::kHalf, produce(id));
  }
  return Status::ok();
}

Status Mapper::map_quantize() {
  QuantizeParams p;
  TRTN_TRY(read_quantize_params(init(), &p));
  // The int8 output is made by finish(): Q/DQ with its scale straight on the float input.
  real_[node_->outputs[0]] = read(node_->inputs[0]);
  return Status::ok();
}

Status Mapper::map_preprocess() {
  PreprocessParams p;
  TRTN_TRY(read_preprocess_params(init(), &p));
  const std::string out = produce(node_->outputs[0]);
  // Float32 arithmetic whatever the engine computes in (core/preprocess_params.h), in NCHW: the
  // bytes as floats, channels first, the channel swap, the mean over the whole image, the crop,
  // the scale; a half engine casts the result. Steps that change nothing are left out.
  const bool crop = p.in_h != p.out_h || p.in_w != p.out_w;
  const bool subtract =
      p.mean_per_pixel || std::any_of(p.mean.begin(), p.mean.end(), [](float m) { return m != 0.0f; });
  const bool half = plan_.compute_type == TrtType::kHalf;
  std::vector<std::string> steps;
  steps.push_back(cast("to_float", read(node_->inputs[0]), TrtType::kFloat, tmp("float")));
  Call& t = emit("addShuffle", tmp("to_nchw"), {steps.back()}, {tmp("nchw")});
  t.args.emplace_back("firstTranspose", Arg::of_ints({0, 3, 1, 2}));
  steps.push_back(tmp("nchw"));
  auto next = [&](const std::string& what, bool last) { return last && !half ? out : tmp(what); };
  const bool scaled = p.scale != 1.0f;
  if (p.swap) {
    value_weights(tmp("channel_order"), TrtType::kInt32, {p.channels}, {2, 1, 0});
    Call& g = emit("addGather", tmp("swap"), {steps.back(), constant(tmp("channel_order"))},
                   {next("swapped", !subtract && !crop && !scaled)});
    g.args.emplace_back("axis", Arg::of_int(1));
    steps.push_back(g.outputs[0]);
  }
  if (subtract) {
    if (p.mean_per_pixel) {
      blob_weights(node_->name + "/mean", TrtType::kFloat, {1, p.channels, p.in_h, p.in_w}, node_->name + "/0");
    } else {
      value_weights(node_->name + "/mean", TrtType::kFloat, {1, p.channels, 1, 1},
                    std::vector<double>(p.mean.begin(), p.mean.end()));
    }
    steps.push_back(
        elementwise("mean", steps.back(), constant(node_->name + "/mean"), "kSUB", next("centred", !crop && !scaled)));
  }
  if (crop) {
    steps.push_back(batch_slice("crop", steps.back(), {0, p.h_off, p.w_off}, {p.channels, p.out_h, p.out_w},
                                next("cropped", !scaled)));
  }
  if (scaled) {
    value_weights(node_->name + "/scale", TrtType::kFloat, {1, 1, 1, 1}, {static_cast<double>(p.scale)});
    steps.push_back(
        elementwise("scale", steps.back(), constant(node_->name + "/scale"), "kPROD", next("scaled", true)));
  }
  if (half) {
    cast("to_half", steps.back(), TrtType::kHalf, out);
  } else if (steps.back() != out) {
    emit("addIdentity", tmp("result"), {steps.back()}, {out});
  }
  return Status::ok();
}

// --- JSON ---------------------------------------------------------------------------------------

void write_ints(json::Writer& w, const std::vector<int64_t>& v) {
  w.begin_array();
  for (int64_t x : v) w.number(x);
  w.end_array();
}

void write_floats(json::Writer& w, const std::vector<double>& v) {
  w.begin_array();
  for (double x : v) w.number(x);
  w.end_array();
}

void write_names(json::Writer& w, const std::vector<std::string>& v) {
  w.begin_array();
  for (const std::string& x : v) w.string(x);
  w.end_array();
}

void write_arg(json::Writer& w, const Arg& a) {
  switch (a.kind) {
    case Arg::Kind::kInts:
      if (a.ints.size() == 1)
        w.number(a.ints[0]);
      else
        write_ints(w, a.ints);
      return;
    case Arg::Kind::kFloats:
      if (a.floats.size() == 1)
        w.number(a.floats[0]);
      else
        write_floats(w, a.floats);
      return;
    case Arg::Kind::kName: w.string(a.name); return;
    case Arg::Kind::kBool: w.boolean(a.flag); return;
  }
  w.null();
}

void write_weights(json::Writer& w, const WeightsDesc& d, size_t max_values) {
  w.begin_object().key("id").string(d.id).key("type").string(type_name(d.type)).key("dims");
  write_ints(w, d.dims);
  w.key("count").number(d.count());
  if (!d.blob.empty()) {
    w.key("blob").string(d.blob);
  } else if (d.values.size() <= max_values) {
    w.key("values");
    write_floats(w, d.values);
  }
  w.end_object();
}

void write_call(json::Writer& w, const Call& c) {
  w.begin_object().key("method").string(c.method).key("layer").string(c.layer).key("node").string(c.node);
  w.key("inputs");
  write_names(w, c.inputs);
  w.key("outputs");
  write_names(w, c.outputs);
  w.key("args").begin_object();
  for (const auto& [key, arg] : c.args) {
    w.key(key);
    write_arg(w, arg);
  }
  w.end_object().end_object();
}

/// The plan's own consistency, checked before anyone replays it: every tensor a call reads was
/// written by an earlier call, no name is written twice, weight ids are unique and refer to
/// prepared blobs of the right size (or carry their values), and every weights argument names
/// known weights.
Status check_plan(const NetworkPlan& plan, const WeightStore& store) {
  auto bad = [](const std::string& what) { return Status(Code::kInternal, "tensorrt mapping: " + what); };
  std::map<std::string, const WeightsDesc*> weights;
  for (const WeightsDesc& w : plan.weights) {
    if (!weights.emplace(w.id, &w).second) return bad("weights '" + w.id + "' are defined twice");
    if (!w.blob.empty()) {
      const Blob* b = store.find(w.blob);
      if (b == nullptr) return bad("weights '" + w.id + "' refer to the missing blob '" + w.blob + "'");
      if (b->volume() != w.count()) {
        return bad("weights '" + w.id + "' have " + std::to_string(w.count()) + " values but blob '" + w.blob +
                   "' has " + std::to_string(b->volume()));
      }
      if ((w.type == TrtType::kInt8) != (b->dtype == DType::kInt8))
        return bad("weights '" + w.id + "' change int8-ness");
    } else if (static_cast<int64_t>(w.values.size()) != w.count()) {
      return bad("weights '" + w.id + "' have " + std::to_string(w.values.size()) + " values for dims of " +
                 std::to_string(w.count()));
    }
  }
  std::map<std::string, bool> written;
  for (const Call& c : plan.calls) {
    for (const std::string& in : c.inputs) {
      if (!in.empty() && written.count(in) == 0)
        return bad(c.method + " '" + c.layer + "' reads '" + in + "' before it is written");
    }
    for (const std::string& out : c.outputs) {
      if (!written.emplace(out, true).second) return bad(c.method + " '" + c.layer + "' writes '" + out + "' again");
    }
    for (const auto& [key, a] : c.args) {
      const bool is_weights = key == "weights" || key == "kernelWeights" || key == "biasWeights" || key == "shift" ||
                              key == "scale" || key == "power";
      if (is_weights && a.kind == Arg::Kind::kName && !a.name.empty() && weights.count(a.name) == 0) {
        return bad(c.method + " '" + c.layer + "' uses unknown weights '" + a.name + "'");
      }
    }
  }
  return Status::ok();
}

}  // namespace

Status map_network(const Graph& graph, const WeightStore& weights, NetworkPlan* out) {
  NetworkPlan plan;
  Mapper m(graph, weights, &plan);
  TRTN_TRY(m.run());
  TRTN_TRY(check_plan(plan, weights));
  *out = std::move(plan);
  return Status::ok();
}

std::string plan_to_json(const NetworkPlan& plan, size_t max_values) {
  json::Writer w;
  // clang-format off
  w.begin_object()
      .key("strongly_typed").boolean(plan.strongly_typed)
      .key("tf32").boolean(plan.tf32)
      .key("compute_type").string(type_name(plan.compute_type))
      .key("max_batch").number(plan.max_batch)
      .key("weights").begin_array();
  // clang-format on
  for (const WeightsDesc& d : plan.weights) write_weights(w, d, max_values);
  w.end_array().key("calls").begin_array();
  for (const Call& c : plan.calls) write_call(w, c);
  w.end_array().end_object();
  return w.text();
}

}  // namespace trtn::tensorrt
