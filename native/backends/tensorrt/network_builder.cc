#include "backends/tensorrt/network_builder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "backends/tensorrt/node_plugin.h"
#include "core/numeric.h"

namespace trtn::tensorrt {
namespace {

using nvinfer1::DataType;
using nvinfer1::Dims;
using nvinfer1::ITensor;
using nvinfer1::Weights;

Status unsupported(const Call& c, const std::string& what) {
  return Status(Code::kUnsupportedLayer,
                "tensorrt backend, node '" + c.node + "', layer '" + c.layer + "' (" + c.method + "): " + what);
}

Dims dims_of(const std::vector<int64_t>& v) {
  Dims d{};
  d.nbDims = static_cast<int32_t>(v.size());
  for (size_t i = 0; i < v.size() && i < static_cast<size_t>(Dims::MAX_DIMS); ++i) d.d[i] = v[i];
  return d;
}

DataType data_type(TrtType t) {
  switch (t) {
    case TrtType::kFloat: return DataType::kFLOAT;
    case TrtType::kHalf: return DataType::kHALF;
    case TrtType::kInt8: return DataType::kINT8;
    case TrtType::kInt32: return DataType::kINT32;
    case TrtType::kInt64: return DataType::kINT64;
    case TrtType::kBool: return DataType::kBOOL;
    case TrtType::kUInt8: return DataType::kUINT8;
  }
  return DataType::kFLOAT;
}

bool data_type_named(const std::string& n, DataType* out) {
  static const std::map<std::string, DataType> m = {{"kFLOAT", DataType::kFLOAT}, {"kHALF", DataType::kHALF},
                                                    {"kINT8", DataType::kINT8},   {"kINT32", DataType::kINT32},
                                                    {"kINT64", DataType::kINT64}, {"kBOOL", DataType::kBOOL},
                                                    {"kUINT8", DataType::kUINT8}};
  auto it = m.find(n);
  if (it == m.end()) return false;
  *out = it->second;
  return true;
}

/// An enum by its TensorRT name, from a table.
template <typename E>
bool named(const std::map<std::string, E>& table, const std::string& n, E* out) {
  auto it = table.find(n);
  if (it == table.end()) return false;
  *out = it->second;
  return true;
}

const std::map<std::string, nvinfer1::ActivationType>& activation_types() {
  using A = nvinfer1::ActivationType;
  static const std::map<std::string, A> m = {
      {"kRELU", A::kRELU}, {"kSIGMOID", A::kSIGMOID},   {"kTANH", A::kTANH}, {"kLEAKY_RELU", A::kLEAKY_RELU},
      {"kELU", A::kELU},   {"kSOFTPLUS", A::kSOFTPLUS}, {"kCLIP", A::kCLIP}};
  return m;
}

const std::map<std::string, nvinfer1::UnaryOperation>& unary_operations() {
  using U = nvinfer1::UnaryOperation;
  static const std::map<std::string, U> m = {
      {"kEXP", U::kEXP}, {"kLOG", U::kLOG}, {"kSQRT", U::kSQRT}, {"kABS", U::kABS}, {"kRECIP", U::kRECIP}};
  return m;
}

const std::map<std::string, nvinfer1::ElementWiseOperation>& elementwise_operations() {
  using E = nvinfer1::ElementWiseOperation;
  static const std::map<std::string, E> m = {{"kSUM", E::kSUM}, {"kPROD", E::kPROD}, {"kMAX", E::kMAX},
                                             {"kSUB", E::kSUB}, {"kDIV", E::kDIV},   {"kGREATER", E::kGREATER}};
  return m;
}

const std::map<std::string, nvinfer1::ReduceOperation>& reduce_operations() {
  using R = nvinfer1::ReduceOperation;
  static const std::map<std::string, R> m = {{"kSUM", R::kSUM}, {"kAVG", R::kAVG}, {"kMAX", R::kMAX}};
  return m;
}

/// IResizeLayer's settings by their TensorRT names.
struct ResizeSettings {
  nvinfer1::InterpolationMode mode{};
  nvinfer1::ResizeCoordinateTransformation transform{};
  nvinfer1::ResizeRoundMode rounding{};
  nvinfer1::ResizeSelector single_pixel{};
};

bool resize_settings(const std::string& mode, const std::string& transform, const std::string& rounding,
                     const std::string& single_pixel, ResizeSettings* out) {
  using M = nvinfer1::InterpolationMode;
  using T = nvinfer1::ResizeCoordinateTransformation;
  using R = nvinfer1::ResizeRoundMode;
  using S = nvinfer1::ResizeSelector;
  static const std::map<std::string, M> modes = {{"kNEAREST", M::kNEAREST}, {"kLINEAR", M::kLINEAR}};
  static const std::map<std::string, T> transforms = {{"kALIGN_CORNERS", T::kALIGN_CORNERS},
                                                      {"kASYMMETRIC", T::kASYMMETRIC}};
  static const std::map<std::string, R> roundings = {{"kFLOOR", R::kFLOOR}};
  static const std::map<std::string, S> selectors = {{"kUPPER", S::kUPPER}, {"kFORMULA", S::kFORMULA}};
  return named(modes, mode, &out->mode) && named(transforms, transform, &out->transform) &&
         named(roundings, rounding, &out->rounding) && named(selectors, single_pixel, &out->single_pixel);
}

// addTopK gained an indices type during 10.x (and 11 keeps only that form undeprecated); use it
// where the headers have it.
template <typename Net>
auto add_topk(Net& net, ITensor& x, nvinfer1::TopKOperation op, int32_t k, uint32_t axes, int)
    -> decltype(net.addTopK(x, op, k, axes, DataType::kINT32)) {
  return net.addTopK(x, op, k, axes, DataType::kINT32);
}
template <typename Net>
nvinfer1::ITopKLayer* add_topk(Net& net, ITensor& x, nvinfer1::TopKOperation op, int32_t k, uint32_t axes, long) {
  return net.addTopK(x, op, k, axes);
}

/// Replays one plan on one network; owns the weights' bytes until the engine is built.
class Replayer {
 public:
  Replayer(const NetworkPlan& plan, const WeightStore& store, nvinfer1::INetworkDefinition& net,
           nvinfer1::IOptimizationProfile& profile)
      : plan_(plan), store_(store), net_(net), profile_(profile) {}

  Status run() {
    for (const Call& c : plan_.calls) {
      TRTN_TRY(call(c));
    }
    return Status::ok();
  }

 private:
  Status tensor(const Call& c, size_t i, ITensor** out) {
    auto it = i < c.inputs.size() ? tensors_.find(c.inputs[i]) : tensors_.end();
    if (it == tensors_.end())
      return Status(Code::kInternal,
                    "tensorrt backend: layer '" + c.layer + "' input " + std::to_string(i) + " is unknown");
    *out = it->second;
    return Status::ok();
  }
  bool has_input(const Call& c, size_t i) const { return i < c.inputs.size() && !c.inputs[i].empty(); }

  std::vector<int64_t> ints(const Call& c, const char* key) const {
    const Arg* a = c.arg(key);
    return a == nullptr ? std::vector<int64_t>{} : a->ints;
  }
  int64_t int_arg(const Call& c, const char* key, int64_t fallback = 0) const {
    const Arg* a = c.arg(key);
    return a == nullptr || a->ints.empty() ? fallback : a->ints[0];
  }
  float float_arg(const Call& c, const char* key) const {
    const Arg* a = c.arg(key);
    return a == nullptr || a->floats.empty() ? 0.0f : static_cast<float>(a->floats[0]);
  }
  std::string name_arg(const Call& c, const char* key) const {
    const Arg* a = c.arg(key);
    return a == nullptr ? std::string() : a->name;
  }

  /// The weights of that id as TensorRT Weights (empty Weights of `fallback` type for "").
  Status weights(const std::string& id, DataType fallback, Weights* out);

  /// Names the layer and its outputs and records them.
  Status done(const Call& c, nvinfer1::ILayer* layer) {
    if (layer == nullptr) return unsupported(c, "TensorRT refused the call (see its log)");
    layer->setName(c.layer.c_str());
    for (size_t i = 0; i < c.outputs.size(); ++i) {
      ITensor* t = layer->getOutput(static_cast<int32_t>(i));
      if (t == nullptr) return unsupported(c, "no output " + std::to_string(i));
      t->setName(c.outputs[i].c_str());
      tensors_[c.outputs[i]] = t;
    }
    return Status::ok();
  }

  /// Replays one call: looks its method up in handlers().
  Status call(const Call& c);

  /// One handler per TensorRT call (or pair of calls that share their arguments).
  using Handler = Status (Replayer::*)(const Call&);
  static const std::map<std::string, Handler>& handlers();

  // Tensors.
  Status input(const Call& c);
  Status output(const Call& c);
  Status constant(const Call& c);
  Status cast(const Call& c);
  Status shape(const Call& c);
  Status identity(const Call& c);
  // Convolution and deconvolution.
  Status conv_inputs(const Call& c, ITensor** x, Weights* kernel, Weights* bias);
  template <typename Layer>
  void set_conv_geometry(const Call& c, Layer* l) const;
  Status convolution(const Call& c);
  Status deconvolution(const Call& c);
  // Pooling and normalization.
  Status pooling(const Call& c);
  Status lrn(const Call& c);
  // Activations and arithmetic.
  Status activation(const Call& c);
  Status parametric_relu(const Call& c);
  Status unary(const Call& c);
  Status elementwise(const Call& c);
  Status scale(const Call& c);  // addScale, addScaleNd
  // Shape and data movement.
  Status shuffle(const Call& c);
  Status concatenation(const Call& c);
  Status slice(const Call& c);
  Status gather(const Call& c);
  Status resize(const Call& c);
  // Reductions.
  Status softmax(const Call& c);
  Status reduce(const Call& c);
  Status topk(const Call& c);
  Status matrix_multiply(const Call& c);
  // Quantization.
  Status quantize(const Call& c);  // addQuantize, addDequantize
  // What TensorRT has no layer for: the TRTN_Node plugin (node_plugin.h).
  Status plugin_v3(const Call& c);

  const NetworkPlan& plan_;
  const WeightStore& store_;
  nvinfer1::INetworkDefinition& net_;
  nvinfer1::IOptimizationProfile& profile_;
  std::map<std::string, ITensor*> tensors_;
  std::vector<std::vector<uint8_t>> arena_;
  std::vector<std::unique_ptr<nvinfer1::IPluginV3>> plugins_;  // kept until the engine is built
};

Status Replayer::weights(const std::string& id, DataType fallback, Weights* out) {
  if (id.empty()) {
    *out = Weights{fallback, nullptr, 0};
    return Status::ok();
  }
  const WeightsDesc* w = plan_.find_weights(id);
  if (w == nullptr) return Status(Code::kInternal, "tensorrt backend: unknown weights '" + id + "'");
  const int64_t n = w->count();
  std::vector<double> values;
  const Blob* blob = w->blob.empty() ? nullptr : store_.find(w->blob);
  if (!w->blob.empty() && blob == nullptr)
    return Status(Code::kWeights, "tensorrt backend: missing blob '" + w->blob + "'");
  std::vector<uint8_t> bytes;
  auto value = [&](int64_t i) -> double {
    if (blob == nullptr) return w->values[i];
    return blob->dtype == DType::kInt8 ? blob->i8[i] : blob->f32[i];
  };
  switch (w->type) {
    case TrtType::kFloat:
      bytes.resize(n * 4);
      for (int64_t i = 0; i < n; ++i) {
        const float f = static_cast<float>(value(i));
        std::memcpy(bytes.data() + 4 * i, &f, 4);
      }
      break;
    case TrtType::kHalf:
      bytes.resize(n * 2);
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = numeric::float_to_half_bits(static_cast<float>(value(i)));
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
      break;
    case TrtType::kInt8:
      bytes.resize(n);
      for (int64_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(static_cast<int8_t>(value(i)));
      break;
    case TrtType::kInt32:
      bytes.resize(n * 4);
      for (int64_t i = 0; i < n; ++i) {
        const int32_t v = static_cast<int32_t>(value(i));
        std::memcpy(bytes.data() + 4 * i, &v, 4);
      }
      break;
    case TrtType::kInt64:
      bytes.resize(n * 8);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t v = static_cast<int64_t>(value(i));
        std::memcpy(bytes.data() + 8 * i, &v, 8);
      }
      break;
    case TrtType::kBool:
    case TrtType::kUInt8:
      return Status(Code::kInternal, "tensorrt backend: " + std::string(type_name(w->type)) + " weights '" + id + "'");
  }
  arena_.push_back(std::move(bytes));
  *out = Weights{data_type(w->type), arena_.back().data(), n};
  return Status::ok();
}

const std::map<std::string, Replayer::Handler>& Replayer::handlers() {
  static const std::map<std::string, Handler> m = {
      {"addInput", &Replayer::input},
      {"markOutput", &Replayer::output},
      {"addConstant", &Replayer::constant},
      {"addCast", &Replayer::cast},
      {"addShape", &Replayer::shape},
      {"addIdentity", &Replayer::identity},
      {"addConvolutionNd", &Replayer::convolution},
      {"addDeconvolutionNd", &Replayer::deconvolution},
      {"addPoolingNd", &Replayer::pooling},
      {"addLRN", &Replayer::lrn},
      {"addActivation", &Replayer::activation},
      {"addParametricReLU", &Replayer::parametric_relu},
      {"addUnary", &Replayer::unary},
      {"addElementWise", &Replayer::elementwise},
      {"addScale", &Replayer::scale},
      {"addScaleNd", &Replayer::scale},
      {"addShuffle", &Replayer::shuffle},
      {"addConcatenation", &Replayer::concatenation},
      {"addSlice", &Replayer::slice},
      {"addGather", &Replayer::gather},
      {"addResize", &Replayer::resize},
      {"addSoftMax", &Replayer::softmax},
      {"addReduce", &Replayer::reduce},
      {"addTopK", &Replayer::topk},
      {"addMatrixMultiply", &Replayer::matrix_multiply},
      {"addQuantize", &Replayer::quantize},
      {"addDequantize", &Replayer::quantize},
      {"addPluginV3", &Replayer::plugin_v3},
  };
  return m;
}

Status Replayer::call(const Call& c) {
  auto it = handlers().find(c.method);
  if (it == handlers().end()) {
    return Status(Code::kInternal,
                  "tensorrt backend: the plan asks for " + c.method + ", which the builder does not know");
  }
  return (this->*(it->second))(c);
}

// Tensors: network inputs and outputs, constants, casts, shapes, identities.

Status Replayer::input(const Call& c) {
  DataType type = DataType::kFLOAT;
  data_type_named(name_arg(c, "type"), &type);
  std::vector<int64_t> d = ints(c, "dimensions");
  ITensor* t = net_.addInput(c.outputs[0].c_str(), type, dims_of(d));
  if (t == nullptr) return unsupported(c, "TensorRT refused the input");
  tensors_[c.outputs[0]] = t;
  for (auto [sel, key] : {std::pair{nvinfer1::OptProfileSelector::kMIN, "profileMin"},
                          std::pair{nvinfer1::OptProfileSelector::kOPT, "profileOpt"},
                          std::pair{nvinfer1::OptProfileSelector::kMAX, "profileMax"}}) {
    d[0] = int_arg(c, key, 1);
    profile_.setDimensions(c.outputs[0].c_str(), sel, dims_of(d));
  }
  return Status::ok();
}

Status Replayer::output(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  net_.markOutput(*x);
  return Status::ok();
}

Status Replayer::constant(const Call& c) {
  Weights w{};
  TRTN_TRY(weights(name_arg(c, "weights"), DataType::kFLOAT, &w));
  return done(c, net_.addConstant(dims_of(ints(c, "dimensions")), w));
}

Status Replayer::cast(const Call& c) {
  ITensor* x = nullptr;
  DataType to = DataType::kFLOAT;
  TRTN_TRY(tensor(c, 0, &x));
  if (!data_type_named(name_arg(c, "toType"), &to)) return unsupported(c, "unknown type");
  return done(c, net_.addCast(*x, to));
}

Status Replayer::shape(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  return done(c, net_.addShape(*x));
}

Status Replayer::identity(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  return done(c, net_.addIdentity(*x));
}

// Convolution and deconvolution: the same arguments, the same setters on two layer types.

Status Replayer::conv_inputs(const Call& c, ITensor** x, Weights* kernel, Weights* bias) {
  TRTN_TRY(tensor(c, 0, x));
  TRTN_TRY(weights(name_arg(c, "kernelWeights"), DataType::kFLOAT, kernel));
  TRTN_TRY(weights(name_arg(c, "biasWeights"), DataType::kFLOAT, bias));
  return Status::ok();
}

template <typename Layer>
void Replayer::set_conv_geometry(const Call& c, Layer* l) const {
  l->setStrideNd(dims_of(ints(c, "stride")));
  l->setPrePadding(dims_of(ints(c, "prePadding")));
  l->setPostPadding(dims_of(ints(c, "postPadding")));
  l->setDilationNd(dims_of(ints(c, "dilation")));
  l->setNbGroups(int_arg(c, "nbGroups", 1));
}

Status Replayer::convolution(const Call& c) {
  ITensor* x = nullptr;
  Weights k{}, b{};
  TRTN_TRY(conv_inputs(c, &x, &k, &b));
  nvinfer1::IConvolutionLayer* l =
      net_.addConvolutionNd(*x, int_arg(c, "nbOutputMaps"), dims_of(ints(c, "kernelSize")), k, b);
  if (l == nullptr) return unsupported(c, "TensorRT refused the convolution");
  set_conv_geometry(c, l);
  if (has_input(c, 1)) {
    ITensor* y = nullptr;
    TRTN_TRY(tensor(c, 1, &y));
    l->setInput(1, *y);
  }
  return done(c, l);
}

Status Replayer::deconvolution(const Call& c) {
  ITensor* x = nullptr;
  Weights k{}, b{};
  TRTN_TRY(conv_inputs(c, &x, &k, &b));
  nvinfer1::IDeconvolutionLayer* l =
      net_.addDeconvolutionNd(*x, int_arg(c, "nbOutputMaps"), dims_of(ints(c, "kernelSize")), k, b);
  if (l == nullptr) return unsupported(c, "TensorRT refused the deconvolution");
  set_conv_geometry(c, l);
  return done(c, l);
}

// Pooling and normalization.

Status Replayer::pooling(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  const bool ave = name_arg(c, "type") == "kAVERAGE";
  nvinfer1::IPoolingLayer* l = net_.addPoolingNd(
      *x, ave ? nvinfer1::PoolingType::kAVERAGE : nvinfer1::PoolingType::kMAX, dims_of(ints(c, "windowSize")));
  if (l == nullptr) return unsupported(c, "TensorRT refused the pooling");
  l->setStrideNd(dims_of(ints(c, "stride")));
  l->setPrePadding(dims_of(ints(c, "prePadding")));
  l->setPostPadding(dims_of(ints(c, "postPadding")));
  l->setPaddingMode(nvinfer1::PaddingMode::kEXPLICIT_ROUND_DOWN);
  if (ave) l->setAverageCountExcludesPadding(c.arg("averageCountExcludesPadding")->flag);
  return done(c, l);
}

Status Replayer::lrn(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  return done(c, net_.addLRN(*x, int_arg(c, "window"), float_arg(c, "alpha"), float_arg(c, "beta"), float_arg(c, "k")));
}

// Activations, unary and elementwise arithmetic, scales.

Status Replayer::activation(const Call& c) {
  ITensor* x = nullptr;
  nvinfer1::ActivationType type{};
  TRTN_TRY(tensor(c, 0, &x));
  if (!named(activation_types(), name_arg(c, "type"), &type)) return unsupported(c, "unknown activation");
  nvinfer1::IActivationLayer* l = net_.addActivation(*x, type);
  if (l != nullptr && c.arg("alpha") != nullptr) {
    l->setAlpha(float_arg(c, "alpha"));
    l->setBeta(float_arg(c, "beta"));
  }
  return done(c, l);
}

Status Replayer::parametric_relu(const Call& c) {
  ITensor* x = nullptr;
  ITensor* slopes = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  TRTN_TRY(tensor(c, 1, &slopes));
  return done(c, net_.addParametricReLU(*x, *slopes));
}

Status Replayer::unary(const Call& c) {
  ITensor* x = nullptr;
  nvinfer1::UnaryOperation op{};
  TRTN_TRY(tensor(c, 0, &x));
  if (!named(unary_operations(), name_arg(c, "operation"), &op)) return unsupported(c, "unknown unary operation");
  return done(c, net_.addUnary(*x, op));
}

Status Replayer::elementwise(const Call& c) {
  ITensor* x = nullptr;
  ITensor* y = nullptr;
  nvinfer1::ElementWiseOperation op{};
  TRTN_TRY(tensor(c, 0, &x));
  TRTN_TRY(tensor(c, 1, &y));
  if (!named(elementwise_operations(), name_arg(c, "operation"), &op)) return unsupported(c, "unknown operation");
  return done(c, net_.addElementWise(*x, *y, op));
}

Status Replayer::scale(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  const DataType type = data_type(plan_.compute_type);
  Weights shift{}, factor{}, power{};
  TRTN_TRY(weights(name_arg(c, "shift"), type, &shift));
  TRTN_TRY(weights(name_arg(c, "scale"), type, &factor));
  TRTN_TRY(weights(name_arg(c, "power"), type, &power));
  const std::string mode = name_arg(c, "mode");
  const nvinfer1::ScaleMode sm = mode == "kCHANNEL"       ? nvinfer1::ScaleMode::kCHANNEL
                                 : mode == "kELEMENTWISE" ? nvinfer1::ScaleMode::kELEMENTWISE
                                                          : nvinfer1::ScaleMode::kUNIFORM;
  if (c.method == "addScale") return done(c, net_.addScale(*x, sm, shift, factor, power));
  return done(c, net_.addScaleNd(*x, sm, shift, factor, power, static_cast<int32_t>(int_arg(c, "channelAxis", 1))));
}

// Shape and data movement: shuffles, concatenation, slices, gathers.

Status Replayer::shuffle(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  nvinfer1::IShuffleLayer* l = net_.addShuffle(*x);
  if (l == nullptr) return unsupported(c, "TensorRT refused the shuffle");
  if (const Arg* order = c.arg("firstTranspose")) {
    nvinfer1::Permutation p{};
    for (size_t i = 0; i < order->ints.size() && i < static_cast<size_t>(Dims::MAX_DIMS); ++i) {
      p.order[i] = static_cast<int32_t>(order->ints[i]);
    }
    l->setFirstTranspose(p);
  }
  // A transpose alone keeps the shape it makes (the batch stays dynamic).
  if (c.arg("reshapeDimensions") != nullptr) l->setReshapeDimensions(dims_of(ints(c, "reshapeDimensions")));
  if (const Arg* order = c.arg("secondTranspose")) {
    nvinfer1::Permutation p{};
    for (size_t i = 0; i < order->ints.size() && i < static_cast<size_t>(Dims::MAX_DIMS); ++i) {
      p.order[i] = static_cast<int32_t>(order->ints[i]);
    }
    l->setSecondTranspose(p);
  }
  l->setZeroIsPlaceholder(c.arg("zeroIsPlaceholder") == nullptr || c.arg("zeroIsPlaceholder")->flag);
  return done(c, l);
}

Status Replayer::concatenation(const Call& c) {
  std::vector<ITensor*> ins(c.inputs.size());
  for (size_t i = 0; i < ins.size(); ++i) {
    TRTN_TRY(tensor(c, i, &ins[i]));
  }
  nvinfer1::IConcatenationLayer* l = net_.addConcatenation(ins.data(), static_cast<int32_t>(ins.size()));
  if (l != nullptr) l->setAxis(static_cast<int32_t>(int_arg(c, "axis")));
  return done(c, l);
}

Status Replayer::slice(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  std::vector<int64_t> size = ints(c, "size");
  for (int64_t& s : size) s = s < 0 ? 1 : s;  // replaced by input 2 below
  nvinfer1::ISliceLayer* l = net_.addSlice(*x, dims_of(ints(c, "start")), dims_of(size), dims_of(ints(c, "stride")));
  if (l != nullptr && has_input(c, 2)) {
    ITensor* dynamic_size = nullptr;
    TRTN_TRY(tensor(c, 2, &dynamic_size));
    l->setInput(2, *dynamic_size);
  }
  return done(c, l);
}

Status Replayer::gather(const Call& c) {
  ITensor* x = nullptr;
  ITensor* indices = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  TRTN_TRY(tensor(c, 1, &indices));
  return done(c, net_.addGather(*x, *indices, static_cast<int32_t>(int_arg(c, "axis"))));
}

Status Replayer::resize(const Call& c) {
  ITensor* x = nullptr;
  ITensor* size = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  TRTN_TRY(tensor(c, 1, &size));  // the output's shape, batch included
  ResizeSettings r;
  if (!resize_settings(name_arg(c, "resizeMode"), name_arg(c, "coordinateTransformation"),
                       name_arg(c, "nearestRounding"), name_arg(c, "selectorForSinglePixel"), &r)) {
    return unsupported(c, "unknown resize settings");
  }
  nvinfer1::IResizeLayer* l = net_.addResize(*x);
  if (l != nullptr) {
    l->setInput(1, *size);
    l->setResizeMode(r.mode);
    l->setCoordinateTransformation(r.transform);
    l->setNearestRounding(r.rounding);
    l->setSelectorForSinglePixel(r.single_pixel);
  }
  return done(c, l);
}

// Reductions: softmax, reduce, top-k, matrix multiply.

Status Replayer::softmax(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  nvinfer1::ISoftMaxLayer* l = net_.addSoftMax(*x);
  if (l != nullptr) l->setAxes(static_cast<uint32_t>(int_arg(c, "axes")));
  return done(c, l);
}

Status Replayer::reduce(const Call& c) {
  ITensor* x = nullptr;
  nvinfer1::ReduceOperation op{};
  TRTN_TRY(tensor(c, 0, &x));
  if (!named(reduce_operations(), name_arg(c, "operation"), &op)) return unsupported(c, "unknown reduction");
  return done(c,
              net_.addReduce(*x, op, static_cast<uint32_t>(int_arg(c, "reduceAxes")), c.arg("keepDimensions")->flag));
}

Status Replayer::topk(const Call& c) {
  ITensor* x = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  return done(c, add_topk(net_, *x, nvinfer1::TopKOperation::kMAX, static_cast<int32_t>(int_arg(c, "k")),
                          static_cast<uint32_t>(int_arg(c, "reduceAxes")), 0));
}

Status Replayer::matrix_multiply(const Call& c) {
  ITensor* x = nullptr;
  ITensor* y = nullptr;
  TRTN_TRY(tensor(c, 0, &x));
  TRTN_TRY(tensor(c, 1, &y));
  auto op = [](const std::string& n) {
    return n == "kTRANSPOSE" ? nvinfer1::MatrixOperation::kTRANSPOSE : nvinfer1::MatrixOperation::kNONE;
  };
  return done(c, net_.addMatrixMultiply(*x, op(name_arg(c, "op0")), *y, op(name_arg(c, "op1"))));
}

// Quantization: Q/DQ pairs from the calibration table.

Status Replayer::quantize(const Call& c) {
  ITensor* x = nullptr;
  ITensor* step = nullptr;
  DataType to = DataType::kFLOAT;
  TRTN_TRY(tensor(c, 0, &x));
  TRTN_TRY(tensor(c, 1, &step));
  if (!data_type_named(name_arg(c, "outputType"), &to)) return unsupported(c, "unknown type");
  const bool has_axis = c.arg("axis") != nullptr;
  const int32_t axis = static_cast<int32_t>(int_arg(c, "axis"));
  if (c.method == "addQuantize") {
    nvinfer1::IQuantizeLayer* l = net_.addQuantize(*x, *step, to);
    if (l != nullptr && has_axis) l->setAxis(axis);
    return done(c, l);
  }
  nvinfer1::IDequantizeLayer* l = net_.addDequantize(*x, *step, to);
  if (l != nullptr && has_axis) l->setAxis(axis);
  return done(c, l);
}

uint32_t network_flags() {
#if NV_TENSORRT_MAJOR >= 11
  return 0;  // every network is strongly typed
#else
  return 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
}

}  // namespace

Status Replayer::plugin_v3(const Call& c) {
  if (name_arg(c, "pluginName") != kNodePluginName || name_arg(c, "pluginVersion") != kNodePluginVersion)
    return unsupported(c, "unknown plugin '" + name_arg(c, "pluginName") + "'");
  // The node's weights: the store's blobs named after it, as a store of their own.
  WeightStore mine;
  const std::string prefix = c.node + "/";
  for (const auto& [name, blob] : store_.blobs()) {
    if (name.compare(0, prefix.size(), prefix) == 0) mine.put(name, blob);
  }
  std::vector<uint8_t> bytes;
  mine.serialize(&bytes);
  std::unique_ptr<nvinfer1::IPluginV3> plugin;
  TRTN_TRY(make_node_plugin(name_arg(c, "graph"), std::move(bytes), &plugin));
  std::vector<ITensor*> inputs(c.inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) TRTN_TRY(tensor(c, i, &inputs[i]));
  nvinfer1::IPluginV3Layer* l =
      net_.addPluginV3(inputs.data(), static_cast<int32_t>(inputs.size()), nullptr, 0, *plugin);
  plugins_.push_back(std::move(plugin));
  return done(c, l);
}

Status build_serialized_engine(const NetworkPlan& plan, const WeightStore& store, nvinfer1::ILogger& logger,
                               std::vector<uint8_t>* out) {
  std::unique_ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger));
  if (builder == nullptr)
    return Status(Code::kBackendUnavailable, "tensorrt backend: TensorRT could not create a builder");
  std::unique_ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(network_flags()));
  std::unique_ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  if (network == nullptr || config == nullptr) return Status(Code::kInternal, "tensorrt backend: no network or config");
  nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();
  Replayer replay(plan, store, *network, *profile);
  TRTN_TRY(replay.run());
  // TF32 is on by default in TensorRT; strict fp32 (and the fp32 layers of int8 engines) clear it.
  if (plan.tf32)
    config->setFlag(nvinfer1::BuilderFlag::kTF32);
  else
    config->clearFlag(nvinfer1::BuilderFlag::kTF32);
  config->addOptimizationProfile(profile);
  std::unique_ptr<nvinfer1::IHostMemory> engine(builder->buildSerializedNetwork(*network, *config));
  if (engine == nullptr)
    return Status(Code::kUnsupportedLayer, "tensorrt backend: TensorRT could not build the engine (see its log)");
  const uint8_t* p = static_cast<const uint8_t*>(engine->data());
  out->assign(p, p + engine->size());
  return Status::ok();
}

Status TrtEngine::load(const std::vector<uint8_t>& bytes, nvinfer1::ILogger& logger, std::unique_ptr<TrtEngine>* out) {
  std::unique_ptr<TrtEngine> e(new TrtEngine());
  e->runtime_ = nvinfer1::createInferRuntime(logger);
  if (e->runtime_ == nullptr) return Status(Code::kBackendUnavailable, "tensorrt backend: no TensorRT runtime");
  e->engine_ = e->runtime_->deserializeCudaEngine(bytes.data(), bytes.size());
  if (e->engine_ == nullptr)
    return Status(Code::kPlanCorrupt, "tensorrt backend: TensorRT rejected the serialized engine");
  for (int32_t i = 0; i < e->engine_->getNbIOTensors(); ++i) {
    const char* name = e->engine_->getIOTensorName(i);
    (e->engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT ? e->inputs_ : e->outputs_).push_back(name);
  }
  *out = std::move(e);
  return Status::ok();
}

TrtEngine::~TrtEngine() {
  delete engine_;
  delete runtime_;
}

Status TrtEngine::order_io(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  auto same = [](std::vector<std::string> a, std::vector<std::string> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
  };
  if (!same(inputs, inputs_) || !same(outputs, outputs_)) {
    return Status(Code::kPlanCorrupt,
                  "tensorrt backend: the serialized engine's inputs and outputs are not the graph's");
  }
  inputs_ = inputs;
  outputs_ = outputs;
  return Status::ok();
}

Status TrtEngine::create_context(std::unique_ptr<TrtContext>* out) const {
  nvinfer1::IExecutionContext* c = engine_->createExecutionContext();
  if (c == nullptr)
    return Status(Code::kOutOfMemory, "tensorrt backend: TensorRT could not create an execution context");
  out->reset(new TrtContext(*this, c));
  return Status::ok();
}

// getDeviceMemorySizeV2 arrived in 10.1 (getDeviceMemorySize is deprecated from then on); use it
// where the headers have it.
template <typename E>
auto device_memory(const E& e, int) -> decltype(e.getDeviceMemorySizeV2()) {
  return e.getDeviceMemorySizeV2();
}
template <typename E>
int64_t device_memory(const E& e, long) {
  return static_cast<int64_t>(e.getDeviceMemorySize());
}

int64_t TrtEngine::device_memory_bytes() const { return device_memory(*engine_, 0); }

TrtContext::~TrtContext() { delete context_; }

Status TrtContext::enqueue(int batch, const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                           cudaStream_t stream) {
  const std::vector<std::string>& in_names = engine_.inputs_;
  const std::vector<std::string>& out_names = engine_.outputs_;
  if (inputs.size() != in_names.size() || outputs.size() != out_names.size()) {
    return Status(Code::kInvalidArgument, "tensorrt backend: wrong number of buffers");
  }
  for (size_t i = 0; i < in_names.size(); ++i) {
    Dims d = engine_.engine_->getTensorShape(in_names[i].c_str());
    d.d[0] = batch;
    if (!context_->setInputShape(in_names[i].c_str(), d)) {
      return Status(Code::kInvalidArgument,
                    "tensorrt backend: batch " + std::to_string(batch) + " is outside the engine's profile");
    }
    context_->setTensorAddress(in_names[i].c_str(), const_cast<void*>(inputs[i]));
  }
  for (size_t i = 0; i < out_names.size(); ++i) context_->setTensorAddress(out_names[i].c_str(), outputs[i]);
  if (!context_->enqueueV3(stream))
    return Status(Code::kCuda, "tensorrt backend: enqueueV3 failed (see TensorRT's log)");
  return Status::ok();
}

}  // namespace trtn::tensorrt
