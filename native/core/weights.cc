#include "core/weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "core/byte_stream.h"
#include "core/numeric.h"

namespace trtn {

const Blob* WeightStore::find(const std::string& name) const {
  auto it = blobs_.find(name);
  return it == blobs_.end() ? nullptr : &it->second;
}

void WeightStore::put(const std::string& name, Blob blob) { blobs_[name] = std::move(blob); }

int64_t WeightStore::bytes() const {
  int64_t n = 0;
  for (const auto& [name, b] : blobs_) n += b.dtype == DType::kInt8 ? b.volume() : b.volume() * 4;
  return n;
}

namespace {

constexpr char kMagic[4] = {'T', 'W', 'S', '1'};

/// Writes through a sink, padding to 8-byte boundaries counted from the section's start.
class Writer {
 public:
  explicit Writer(ByteSink& sink) : sink_(sink) {}
  template <typename T>
  Status put(const T& v) {
    return bytes(&v, sizeof(T));
  }
  Status bytes(const void* p, size_t n) {
    pos_ += n;
    return sink_.write(p, n);
  }
  Status pad8() {
    static const uint8_t zeros[8] = {};
    return bytes(zeros, (8 - pos_ % 8) % 8);
  }

 private:
  ByteSink& sink_;
  uint64_t pos_ = 0;
};

/// Reads from a source, skipping padding to 8-byte boundaries counted from the section's start.
class Reader {
 public:
  explicit Reader(ByteSource& source) : source_(source) {}
  bool read(void* dst, size_t n) {
    if (!source_.read(dst, n)) return false;
    pos_ += n;
    return true;
  }
  uint64_t left() const { return source_.left(); }
  bool align8() {
    uint8_t skip[8];
    const size_t n = std::min<uint64_t>((8 - pos_ % 8) % 8, source_.left());
    return read(skip, n);
  }

 private:
  ByteSource& source_;
  uint64_t pos_ = 0;
};

Status corrupt(const std::string& what) { return Status(Code::kPlanCorrupt, "weights section: " + what); }

Status bad(const Node& n, const std::string& what) {
  return Status(Code::kInvalidArgument, "node '" + n.name + "' (" + n.op + "): " + what);
}

Blob float_blob(const std::vector<int64_t>& dims, const float* data) {
  Blob b;
  b.dims = dims;
  b.f32.assign(data, data + volume_of(dims));
  return b;
}

/// Output channels of a GEMM node and the axis of its weights that indexes them.
Status gemm_channels(const Node& n, const WeightDesc& w, int64_t* channels, int* axis) {
  int64_t num_output = 0;
  TRTN_TRY(json::get_int(n.attrs, "numOutput", "node '" + n.name + "' attrs", &num_output));
  *axis = 0;
  if (w.dims.size() < 2) return bad(n, "weights need at least 2 dimensions");
  int64_t per_group = num_output;
  if (n.op == "InnerProduct") {
    bool transpose = false;
    TRTN_TRY(json::opt_bool(n.attrs, "transpose", "node '" + n.name + "' attrs", &transpose));
    *axis = transpose ? 1 : 0;
  } else if (n.op == "Deconvolution") {
    // Deconvolution weights are [C_in, C_out / group, kh, kw].
    int64_t group = 1;
    TRTN_TRY(json::opt_int(n.attrs, "group", "node '" + n.name + "' attrs", &group));
    if (group < 1 || num_output % group != 0) return bad(n, "num_output must be divisible by group");
    if (!n.fold.empty() && group != 1) return bad(n, "folding into a grouped deconvolution is not supported");
    per_group = num_output / group;
    *axis = 1;
  }
  if (w.dims[*axis] != per_group) return bad(n, "weights do not match num_output");
  *channels = num_output;
  return Status::ok();
}

/// Applies y = x * a[c] + s[c] for every output channel c of a GEMM's weights and bias.
void apply_affine(std::vector<float>* w, const std::vector<int64_t>& dims, int axis, std::vector<float>* bias,
                  const std::vector<double>& a, const std::vector<double>& s) {
  const int64_t outer = axis == 0 ? 1 : dims[0];
  const int64_t channels = dims[axis];
  int64_t inner = 1;
  for (size_t i = axis + 1; i < dims.size(); ++i) inner *= dims[i];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      float* p = w->data() + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) p[i] = static_cast<float>(static_cast<double>(p[i]) * a[c]);
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    (*bias)[c] = static_cast<float>(static_cast<double>((*bias)[c]) * a[c] + s[c]);
  }
}

Status prepare_gemm(const Graph& g, const Node& n, const std::vector<const float*>& raw, WeightStore* out) {
  if (n.weights.empty() || n.weights.size() > 2) return bad(n, "needs a weight blob and an optional bias");
  const WeightDesc& wd = g.weights[n.weights[0]];
  int64_t channels = 0;
  int axis = 0;
  TRTN_TRY(gemm_channels(n, wd, &channels, &axis));
  std::vector<float> w(raw[n.weights[0]], raw[n.weights[0]] + wd.volume);
  std::vector<float> bias(static_cast<size_t>(channels), 0.0f);
  if (n.weights.size() == 2) {
    const WeightDesc& bd = g.weights[n.weights[1]];
    if (bd.volume != static_cast<int64_t>(bias.size())) return bad(n, "bias does not match the output channels");
    std::copy(raw[n.weights[1]], raw[n.weights[1]] + bd.volume, bias.begin());
  }
  if (!n.fold.empty()) {
    std::vector<double> a(channels, 1.0), s(channels, 0.0);
    for (const Fold& f : n.fold) {
      auto blob = [&](size_t i) -> const float* {
        return i < f.weights.size() && g.weights[f.weights[i]].volume == channels ? raw[f.weights[i]] : nullptr;
      };
      for (int64_t c = 0; c < channels; ++c) {
        double fa = 1, fs = 0;
        if (f.type == "BatchNorm") {
          const float *mean = blob(0), *var = blob(1);
          if (mean == nullptr || var == nullptr || f.weights.size() != 3 || g.weights[f.weights[2]].volume != 1) {
            return bad(n, "folded BatchNorm '" + f.layer + "' needs mean [C], variance [C] and a factor");
          }
          double factor = raw[f.weights[2]][0];
          double sf = factor == 0 ? 0 : 1 / factor;  // Caffe's moving-average normalisation
          fa = 1 / std::sqrt(var[c] * sf + f.eps);
          fs = -mean[c] * sf * fa;
        } else if (f.type == "Scale") {
          const float* gamma = blob(0);
          if (gamma == nullptr || (f.bias_term && blob(1) == nullptr))
            return bad(n, "folded Scale '" + f.layer + "' needs [C] blobs");
          fa = gamma[c];
          fs = f.bias_term ? blob(1)[c] : 0;
        } else {
          const float* b = blob(0);
          if (b == nullptr) return bad(n, "folded Bias '" + f.layer + "' needs a [C] blob");
          fs = b[c];
        }
        s[c] = s[c] * fa + fs;
        a[c] *= fa;
      }
    }
    apply_affine(&w, wd.dims, axis, &bias, a, s);
  }
  Blob weights;
  weights.dims = wd.dims;
  if (n.precision == Precision::kINT8) {
    if (n.op == "Deconvolution") return bad(n, "has no INT8 form");
    Blob scale;
    scale.dims = {channels};
    weights.dtype = DType::kInt8;
    quantize_per_channel(w, wd.dims, axis, &weights.i8, &scale.f32);
    out->put(n.name + "/wscale", std::move(scale));
  } else {
    if (n.precision == Precision::kFP16)
      for (float& v : w) v = numeric::round_to_half(v);
    if (n.precision == Precision::kTF32)
      for (float& v : w) v = numeric::round_to_tf32(v);
    weights.f32 = std::move(w);
  }
  out->put(n.name + "/weights", std::move(weights));
  Blob b;
  b.dims = {static_cast<int64_t>(bias.size())};
  b.f32 = std::move(bias);
  out->put(n.name + "/bias", std::move(b));
  return Status::ok();
}

}  // namespace

void quantize_per_channel(const std::vector<float>& w, const std::vector<int64_t>& dims, int channel_axis,
                          std::vector<int8_t>* q, std::vector<float>* scale) {
  const int64_t outer = channel_axis == 0 ? 1 : dims[0];
  const int64_t channels = dims[channel_axis];
  int64_t inner = 1;
  for (size_t i = channel_axis + 1; i < dims.size(); ++i) inner *= dims[i];
  scale->assign(channels, 1.0f);
  q->assign(w.size(), 0);
  for (int64_t c = 0; c < channels; ++c) {
    float amax = 0;
    for (int64_t o = 0; o < outer; ++o) {
      const float* p = w.data() + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) amax = std::max(amax, std::fabs(p[i]));
    }
    (*scale)[c] = amax > 0 ? static_cast<float>(static_cast<double>(amax) / 127.0) : 1.0f;
    const double s = (*scale)[c];
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        double v = std::nearbyint(static_cast<double>(w[base + i]) / s);
        (*q)[base + i] = static_cast<int8_t>(std::max(-127.0, std::min(127.0, v)));
      }
    }
  }
}

Status prepare_weights(const Graph& graph, const std::vector<const float*>& raw, WeightStore* out) {
  if (raw.size() != graph.weights.size()) {
    return Status(Code::kInvalidArgument, "expected " + std::to_string(graph.weights.size()) + " weight blobs, got " +
                                              std::to_string(raw.size()));
  }
  for (const Node& n : graph.nodes) {
    if (n.op == "Convolution" || n.op == "Deconvolution" || n.op == "InnerProduct") {
      TRTN_TRY(prepare_gemm(graph, n, raw, out));
      continue;
    }
    if (!n.fold.empty()) return bad(n, "only Convolution, Deconvolution and InnerProduct take folded layers");
    for (size_t i = 0; i < n.weights.size(); ++i) {
      const WeightDesc& wd = graph.weights[n.weights[i]];
      Blob b = float_blob(wd.dims, raw[n.weights[i]]);
      // Preprocess computes in float32 in every engine (core/preprocess_params.h): its mean stays exact.
      if (n.precision == Precision::kFP16 && n.op != "Preprocess")
        for (float& v : b.f32) v = numeric::round_to_half(v);
      out->put(n.name + "/" + std::to_string(i), std::move(b));
    }
  }
  return Status::ok();
}

void WeightStore::serialize(std::vector<uint8_t>* out) const {
  VectorSink sink(out);
  (void)serialize(sink);  // a vector sink never fails
}

uint64_t WeightStore::serialized_bytes() const {
  CountingSink sink;
  (void)serialize(sink);  // counting never fails
  return sink.bytes();
}

Status WeightStore::serialize(ByteSink& sink) const {
  Writer w(sink);
  Status st = w.bytes(kMagic, 4);
  if (st.is_ok()) st = w.put(static_cast<uint32_t>(blobs_.size()));
  for (auto it = blobs_.begin(); st.is_ok() && it != blobs_.end(); ++it) {
    const std::string& name = it->first;
    const Blob& b = it->second;
    const uint64_t nbytes = b.dtype == DType::kInt8 ? b.i8.size() : b.f32.size() * 4;
    const void* payload =
        b.dtype == DType::kInt8 ? static_cast<const void*>(b.i8.data()) : static_cast<const void*>(b.f32.data());
    st = w.put(static_cast<uint32_t>(name.size()));
    if (st.is_ok()) st = w.bytes(name.data(), name.size());
    if (st.is_ok()) st = w.put(static_cast<uint8_t>(b.dtype == DType::kInt8 ? 1 : 0));
    if (st.is_ok()) st = w.put(static_cast<uint8_t>(b.dims.size()));
    for (size_t d = 0; st.is_ok() && d < b.dims.size(); ++d) st = w.put(b.dims[d]);
    if (st.is_ok()) st = w.put(nbytes);
    if (st.is_ok()) st = w.pad8();
    if (st.is_ok()) st = w.bytes(payload, nbytes);
    if (st.is_ok()) st = w.pad8();
  }
  return st;
}

Status WeightStore::deserialize(const uint8_t* data, size_t size, WeightStore* out) {
  MemorySource source(data, size);
  return deserialize(source, out);
}

Status WeightStore::deserialize(ByteSource& source, WeightStore* out) {
  Reader r(source);
  // A failed read is the section's end unless the source says it was an I/O error.
  const auto fail = [&source](const std::string& what) {
    const Status io = source.status();
    return io.is_ok() ? corrupt(what) : io;
  };
  char magic[4];
  uint32_t count = 0;
  if (!r.read(magic, 4) || std::memcmp(magic, kMagic, 4) != 0) return fail("bad magic");
  if (!r.read(&count, 4)) return fail("truncated");
  WeightStore store;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t name_len = 0;
    if (!r.read(&name_len, 4) || name_len > r.left() || name_len > 4096) return fail("truncated blob name");
    std::string name(name_len, '\0');
    if (!r.read(name.data(), name_len)) return fail("truncated blob name");
    uint8_t dtype = 0, ndims = 0;
    if (!r.read(&dtype, 1) || !r.read(&ndims, 1) || dtype > 1 || ndims > 8)
      return fail("bad blob header for '" + name + "'");
    Blob b;
    b.dtype = dtype == 1 ? DType::kInt8 : DType::kFloat32;
    int64_t volume = 1;
    for (uint8_t d = 0; d < ndims; ++d) {
      int64_t dim = 0;
      if (!r.read(&dim, 8) || dim < 0 || (dim > 0 && volume > (int64_t{1} << 40) / dim))
        return fail("bad dims for '" + name + "'");
      volume *= dim;
      b.dims.push_back(dim);
    }
    uint64_t nbytes = 0;
    if (!r.read(&nbytes, 8)) return fail("truncated");
    const uint64_t want = static_cast<uint64_t>(volume) * (b.dtype == DType::kInt8 ? 1 : 4);
    if (!r.align8()) return fail("truncated");
    if (nbytes != want || nbytes > r.left()) return fail("payload of '" + name + "' does not fit");
    bool ok;
    if (b.dtype == DType::kInt8) {
      b.i8.resize(volume);
      ok = r.read(b.i8.data(), nbytes);
    } else {
      b.f32.resize(volume);
      ok = r.read(b.f32.data(), nbytes);
    }
    if (!ok || !r.align8()) return fail("payload of '" + name + "' is truncated");
    store.put(name, std::move(b));
  }
  if (r.left() != 0) return fail("bytes after the last blob");
  *out = std::move(store);
  return Status::ok();
}

}  // namespace trtn
