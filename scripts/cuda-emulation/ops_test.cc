// scripts/cuda-emulation/run.sh: the cuda ops (emulated on the host by emu.h) against the cpu ops
// on small random cases, over several layouts (NCHW, NHWC padded, channel slices of larger roots)
// and element types. Float results must match bit for bit unless a case allows a tolerance (a
// different summation order: Softmax's warp path, Reduction / MVN / batch-statistics BatchNorm in
// double, Deconvolution's GEMM order); int8 results always bit for bit.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/op.h"
#include "core/json.h"
#include "core/numeric.h"

namespace trtn::cuda {
Status make_convolution(const CudaOpInit&, std::unique_ptr<CudaOp>*) { return Status(Code::kInternal, "stub"); }
Status make_inner_product(const CudaOpInit&, std::unique_ptr<CudaOp>*) { return Status(Code::kInternal, "stub"); }
Status make_detection_output(const CudaOpInit&, std::unique_ptr<CudaOp>*) { return Status(Code::kInternal, "stub"); }
Status make_roi_pooling(const CudaOpInit&, std::unique_ptr<CudaOp>*) { return Status(Code::kInternal, "stub"); }
Status make_psroi_pooling(const CudaOpInit&, std::unique_ptr<CudaOp>*) { return Status(Code::kInternal, "stub"); }
Status make_proposal(const CudaOpInit&, std::unique_ptr<CudaOp>*) { return Status(Code::kInternal, "stub"); }
// The engine's environment switches (cuda_engine.cc is not emulated): all off.
const CudaEnv& cuda_env() {
  static const CudaEnv env;
  return env;
}
}  // namespace trtn::cuda

using namespace trtn;
using trtn::cuda::Elem;
using trtn::cuda::Layout;
using trtn::cuda::Place;
using trtn::cuda::View4;

static int failures = 0, checks = 0;
static std::mt19937 rng(12345);

struct Spec {  // where a tensor lives for the cuda run
  Elem elem = Elem::kF32;
  Layout layout = Layout::kLinear;
  int before = 0, after = 0;  // root channels before / after the tensor (a slice)
  bool quad = false;          // NHWC with 4 channels a pixel (a first layer's input; planner.cc)
};

struct Case {
  Graph g;
  WeightStore w;
  std::string label;
  int tensor(const std::string& name, std::vector<int64_t> dims, DType dt = DType::kFloat32, float scale = 0) {
    TensorDesc t;
    t.name = name;
    t.dims = dims;
    t.dtype = dt;
    t.scale = scale;
    t.volume = volume_of(dims);
    g.tensors.push_back(t);
    return static_cast<int>(g.tensors.size()) - 1;
  }
  Node& node(const std::string& op, std::vector<int> in, std::vector<int> out, const std::string& attrs,
             Precision p = Precision::kFP32) {
    Node n;
    n.name = op + "_node";
    n.op = op;
    if (!op_kind_of(op, &n.kind)) {
      std::printf("unknown op %s\n", op.c_str());
      std::abort();
    }
    n.inputs = in;
    n.outputs = out;
    Status st = json::parse(attrs, &n.attrs);
    if (!st.is_ok()) {
      std::printf("bad attrs %s: %s\n", attrs.c_str(), st.message().c_str());
      std::abort();
    }
    n.precision = p;
    g.nodes.push_back(n);
    return g.nodes.back();
  }
  void blob(const std::string& suffix, std::vector<int64_t> dims, std::vector<float> v) {
    Blob b;
    b.dims = dims;
    b.f32 = v;
    w.put(g.nodes.back().name + "/" + suffix, b);
  }
};

static float rnd(float lo = -2, float hi = 2) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

static std::vector<float> random_values(size_t n, DType dt, float lo = -2, float hi = 2) {
  std::vector<float> v(n);
  for (auto& x : v) {
    x = dt == DType::kInt8    ? static_cast<float>(std::uniform_int_distribution<int>(-127, 127)(rng))
        : dt == DType::kUInt8 ? static_cast<float>(std::uniform_int_distribution<int>(0, 255)(rng))
                              : rnd(lo, hi);
  }
  return v;
}

static float half_round(float x) { return numeric::round_to_half(x); }

struct Shape3 {
  int64_t c = 1, h = 1, w = 1;
};
static Shape3 shape3(const std::vector<int64_t>& d) {
  Shape3 s;
  if (d.size() >= 1) s.c = d[0];
  if (d.size() == 2) s.h = d[1];
  if (d.size() == 3) {
    s.h = d[1];
    s.w = d[2];
  }
  if (d.size() > 3) {
    s.h = 1;
    for (size_t i = 1; i < d.size(); ++i) s.h *= d[i];
  }
  return s;
}

/// A root buffer of one tensor in the cuda run.
struct Stored {
  Place place;
  std::vector<uint8_t> bytes;
};

static Place make_place(const TensorDesc& t, const Spec& s) {
  Place p;
  p.root = 0;
  p.elem = s.elem;
  p.layout = s.layout;
  Shape3 sh = shape3(t.dims);
  p.c = sh.c;
  p.h = sh.h;
  p.w = sh.w;
  p.scale = t.scale;
  if (s.layout == Layout::kNHWC) {
    const int64_t pad = s.quad ? 4 : 16 / trtn::cuda::elem_bytes(s.elem);
    p.root_c = (s.before + sh.c + s.after + pad - 1) / pad * pad;
    p.c_offset = s.before;
    p.c_write = s.after == 0 ? p.root_c - s.before : sh.c;
  } else {
    p.root_c = s.before + sh.c + s.after;
    p.c_offset = s.before;
    p.c_write = sh.c;
  }
  return p;
}

static float read_elem(const void* base, Elem e, int64_t i) {
  if (e == Elem::kF32) return static_cast<const float*>(base)[i];
  if (e == Elem::kF16) {
    uint16_t b;
    std::memcpy(&b, static_cast<const uint8_t*>(base) + 2 * i, 2);
    return numeric::half_bits_to_float(b);
  }
  if (e == Elem::kU8) return static_cast<float>(static_cast<const uint8_t*>(base)[i]);
  return static_cast<float>(static_cast<const int8_t*>(base)[i]);
}
static void write_elem(void* base, Elem e, int64_t i, float v) {
  if (e == Elem::kF32) {
    static_cast<float*>(base)[i] = v;
  } else if (e == Elem::kF16) {
    uint16_t b = numeric::float_to_half_bits(v);
    std::memcpy(static_cast<uint8_t*>(base) + 2 * i, &b, 2);
  } else if (e == Elem::kU8) {
    static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v);
  } else {
    static_cast<int8_t*>(base)[i] = static_cast<int8_t>(v);
  }
}

static uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static int64_t ulp_diff(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return 1LL << 40;
  if (a == b) return 0;
  auto key = [](float f) -> int64_t {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : i;
  };
  return std::llabs(key(a) - key(b));
}

/// Runs node 0 of `c` on both backends at `batch` with specs per tensor; inputs random.
/// tol_ulp: allowed float difference (0 = bit-exact), abs_tol: or absolute difference.
static void run_case(Case& c, int batch, std::map<int, Spec> specs, int64_t tol_ulp = 0, double abs_tol = 0,
                     std::map<int, std::vector<float>> given = {}) {
  c.g.max_batch = std::max(c.g.max_batch, batch);
  const Node& node = c.g.nodes[0];
  const bool fp16 = node.precision == Precision::kFP16;
  std::string label = c.label + " batch " + std::to_string(batch);
  for (auto& kv : specs) {
    label += " | t" + std::to_string(kv.first) + (kv.second.layout == Layout::kNHWC ? " nhwc" : " nchw") +
             (kv.second.elem == Elem::kF16  ? " f16"
              : kv.second.elem == Elem::kI8 ? " i8"
              : kv.second.elem == Elem::kU8 ? " u8"
                                            : " f32");
    if (kv.second.before || kv.second.after)
      label += " slice(" + std::to_string(kv.second.before) + "," + std::to_string(kv.second.after) + ")";
  }
  // Inputs (dense, per tensor).
  std::map<int, std::vector<float>> values;
  for (int t : node.inputs) {
    const TensorDesc& d = c.g.tensors[t];
    if (given.count(t)) {
      values[t] = given[t];
    } else {
      values[t] = random_values(static_cast<size_t>(d.volume * batch), d.dtype);
    }
    const Spec s = specs.count(t) ? specs[t] : Spec{};
    if (s.elem == Elem::kF16) {
      for (auto& v : values[t]) v = half_round(v);
    }
  }
  // cpu run.
  ThreadPool pool(2);
  std::vector<std::vector<uint8_t>> cpu_in, cpu_out;
  std::vector<const void*> in_ptrs;
  std::vector<void*> out_ptrs;
  for (int t : node.inputs) {
    const TensorDesc& d = c.g.tensors[t];
    std::vector<uint8_t> b(values[t].size() * dtype_bytes(d.dtype));
    for (size_t i = 0; i < values[t].size(); ++i) {
      if (d.dtype == DType::kInt8) reinterpret_cast<int8_t*>(b.data())[i] = static_cast<int8_t>(values[t][i]);
      else if (d.dtype == DType::kUInt8) b[i] = static_cast<uint8_t>(values[t][i]);
      else reinterpret_cast<float*>(b.data())[i] = values[t][i];
    }
    cpu_in.push_back(std::move(b));
  }
  for (auto& b : cpu_in) in_ptrs.push_back(b.data());
  for (int t : node.outputs) {
    const TensorDesc& d = c.g.tensors[t];
    cpu_out.emplace_back(d.volume * batch * (d.dtype == DType::kInt8 ? 1 : 4), 0);
  }
  for (auto& b : cpu_out) out_ptrs.push_back(b.data());
  OpInit cpu_init{c.g, node, c.w, "cpu"};
  std::unique_ptr<cpu::CpuOp> cpu_op;
  Status st = cpu::make_op(cpu_init, &cpu_op);
  if (!st.is_ok()) {
    std::printf("FAIL %s: cpu make_op: %s\n", label.c_str(), st.message().c_str());
    ++failures;
    return;
  }
  st = cpu_op->run(cpu::OpArgs{batch, in_ptrs, out_ptrs, pool});
  if (!st.is_ok()) {
    std::printf("cpu run: %s\n", st.message().c_str());
  }
  // cuda run.
  std::vector<Place> places(c.g.tensors.size());
  std::map<int, Stored> stored;
  for (size_t t = 0; t < c.g.tensors.size(); ++t) {
    const Spec s = specs.count(t) ? specs[t] : Spec{};
    places[t] = make_place(c.g.tensors[t], s);
    places[t].root = static_cast<int>(t);
  }
  trtn::cuda::DeviceProps props;
  trtn::cuda::CudaOpInit cuda_init{OpInit{c.g, node, c.w, "cuda"}, places, props};
  std::unique_ptr<trtn::cuda::CudaOp> op;
  st = trtn::cuda::make_op(cuda_init, &op);
  if (!st.is_ok()) {
    std::printf("FAIL %s: cuda make_op: %s\n", label.c_str(), st.message().c_str());
    ++failures;
    return;
  }
  // Every tactic of the op (pooling's "rows4"; the stubbed convolutions have none), each from fresh outputs.
  const std::string base_label = label;
  for (int tactic = 0; tactic < op->tactic_count(); ++tactic) {
  if (op->tactic_count() > 1) {
    label = base_label + " tactic " + op->tactic_name(tactic);
    if (!op->set_tactic(tactic).is_ok()) {
      std::printf("FAIL %s: set_tactic\n", label.c_str());
      ++failures;
      continue;
    }
  }
  auto alloc = [&](int t, bool input) {
    const Place& p = places[t];
    Stored s;
    s.place = p;
    const int64_t elems = p.root_image_elems() * batch;
    s.bytes.resize(elems * trtn::cuda::elem_bytes(p.elem));
    // Sentinel everywhere: a large value for floats, 0x55 for int8.
    for (int64_t i = 0; i < elems; ++i) write_elem(s.bytes.data(), p.elem, i, p.elem == Elem::kI8 || p.elem == Elem::kU8 ? 85.0f : 12345.0f);
    View4 v = p.view(s.bytes.data(), batch);
    for (int n = 0; n < batch; ++n)
      for (int ch = 0; ch < v.c_write; ++ch)
        for (int h = 0; h < v.h; ++h)
          for (int w = 0; w < v.w; ++w) {
            float val = 0;
            if (input && ch < v.c) val = values[t][((static_cast<int64_t>(n) * v.c + ch) * v.h + h) * v.w + w];
            if (input) write_elem(v.data, p.elem, v.at(n, ch, h, w), val);
          }
    stored[t] = std::move(s);
  };
  for (int t : node.inputs) alloc(t, true);
  for (int t : node.outputs) alloc(t, false);
  std::vector<View4> vin, vout;
  for (int t : node.inputs) vin.push_back(places[t].view(stored[t].bytes.data(), batch));
  for (int t : node.outputs) vout.push_back(places[t].view(stored[t].bytes.data(), batch));
  const size_t ws = op->workspace_bytes(batch);
  std::vector<uint8_t> workspace(ws + 16);
  st = op->run(trtn::cuda::RunArgs{batch, vin, vout, nullptr, workspace.data()});
  if (!st.is_ok()) {
    std::printf("FAIL %s: cuda run: %s\n", label.c_str(), st.message().c_str());
    ++failures;
    return;
  }
  // Compare.
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    const int t = node.outputs[k];
    const TensorDesc& d = c.g.tensors[t];
    const Place& p = places[t];
    View4 v = vout[k];
    int64_t worst = 0;
    double worst_abs = 0;
    int bad = 0;
    std::string first_bad;
    for (int n = 0; n < batch; ++n)
      for (int ch = 0; ch < v.c_write; ++ch)
        for (int h = 0; h < v.h; ++h)
          for (int w = 0; w < v.w; ++w) {
            const float got = read_elem(v.data, p.elem, v.at(n, ch, h, w));
            float want = 0;
            if (ch < v.c) {
              const int64_t i = ((static_cast<int64_t>(n) * v.c + ch) * v.h + h) * v.w + w;
              want = d.dtype == DType::kInt8 ? static_cast<float>(reinterpret_cast<int8_t*>(cpu_out[k].data())[i])
                                             : reinterpret_cast<float*>(cpu_out[k].data())[i];
              if (p.elem == Elem::kF16) want = half_round(want);
            }
            const int64_t u = ulp_diff(got, want);
            const double ad = std::isnan(got) || std::isnan(want) ? (std::isnan(got) && std::isnan(want) ? 0 : 1e30)
                                                                    : std::fabs(static_cast<double>(got) - want);
            worst = std::max(worst, u);
            worst_abs = std::max(worst_abs, ad);
            // int8: exact, or within abs_tol steps where a case allows it (INT8 LRN, docs/int8.md).
            const bool ok = p.elem == Elem::kI8 || d.dtype == DType::kInt8 ? (got == want || ad <= abs_tol)
                                                                           : (u <= tol_ulp || ad <= abs_tol);
            if (!ok || (ch >= v.c && got != 0.0f)) {
              if (bad++ == 0) {
                char buf[200];
                std::snprintf(buf, sizeof buf, "n%d c%d h%d w%d got %.9g want %.9g", n, ch, h, w, got, want);
                first_bad = buf;
              }
            }
          }
    // Nothing written outside the tensor's channels [c_offset, c_offset + c_write) of its root.
    int stray = 0;
    const int64_t root_elems = p.root_image_elems() * batch;
    std::vector<bool> mine(root_elems, false);
    for (int n = 0; n < batch; ++n)
      for (int ch = 0; ch < v.c_write; ++ch)
        for (int h = 0; h < v.h; ++h)
          for (int w = 0; w < v.w; ++w) {
            const int64_t off = (static_cast<uint8_t*>(v.data) - stored[t].bytes.data()) / trtn::cuda::elem_bytes(p.elem) +
                                v.at(n, ch, h, w);
            mine[off] = true;
          }
    for (int64_t i = 0; i < root_elems; ++i) {
      if (!mine[i] && read_elem(stored[t].bytes.data(), p.elem, i) != (p.elem == Elem::kI8 ? 85.0f : (p.elem == Elem::kF16 ? half_round(12345.0f) : 12345.0f))) ++stray;
    }
    ++checks;
    if (bad || stray) {
      ++failures;
      std::printf("FAIL %s out %zu: %d bad (%s), %d stray writes, worst %lld ulp\n", label.c_str(), k, bad,
                  first_bad.c_str(), stray, static_cast<long long>(worst));
    } else if (worst > 0 || std::getenv("VERBOSE")) {
      std::printf("ok   %s out %zu: worst %lld ulp, abs %.3g\n", label.c_str(), k, static_cast<long long>(worst), worst_abs);
    }
  }
  }
  (void)fp16;
}

// ---------------------------------------------------------------------------------------------

static std::vector<Spec> float_layouts(Elem e) {
  return {Spec{e, Layout::kLinear, 0, 0}, Spec{e, Layout::kNHWC, 0, 0}, Spec{e, Layout::kNHWC, 3, 5},
          Spec{e, Layout::kLinear, 2, 1}, Spec{e, Layout::kNHWC, 8, 0}};
}

static void unary_op(const std::string& op, const std::string& attrs, std::vector<int64_t> dims, int64_t tol = 0) {
  for (Elem e : {Elem::kF32, Elem::kF16}) {
    for (const Spec& si : float_layouts(e)) {
      for (const Spec& so : float_layouts(e)) {
        if (dims.size() > 3 && (si.layout == Layout::kNHWC || so.layout == Layout::kNHWC || si.before || so.before || si.after || so.after)) continue;
        Case c;
        c.label = op + " " + attrs;
        int x = c.tensor("x", dims), y = c.tensor("y", dims);
        c.node(op, {x}, {y}, attrs, e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
        run_case(c, 2, {{x, si}, {y, so}}, tol);
      }
    }
  }
}

static void test_activations() {
  std::vector<std::vector<int64_t>> shapes = {{5, 3, 7}, {16, 4, 4}, {3, 2, 2, 3}, {37}};
  for (auto& d : shapes) {
    unary_op("ReLU", "{\"negativeSlope\": 0.1}", d);
    unary_op("ELU", "{\"alpha\": 0.7}", d);
    unary_op("Sigmoid", "{}", d);
    unary_op("TanH", "{}", d);
    unary_op("AbsVal", "{}", d);
    unary_op("Power", "{\"power\": 2.5, \"scale\": 0.5, \"shift\": 3}", d);
    unary_op("Power", "{\"power\": 1, \"scale\": 0.5, \"shift\": 3}", d);
    unary_op("Power", "{\"power\": 2, \"scale\": 0, \"shift\": 3}", d);
    unary_op("BNLL", "{}", d);
    unary_op("Exp", "{\"base\": 2, \"scale\": 0.5, \"shift\": 0.25}", d);
    unary_op("Log", "{\"base\": 10, \"scale\": 0.5, \"shift\": 3}", d);
    unary_op("Threshold", "{\"threshold\": 0.2}", d);
    unary_op("Clip", "{\"min\": -0.5, \"max\": 0.7}", d);
    unary_op("Swish", "{\"beta\": 1.3}", d);
  }
}

static std::vector<Spec> int8_layouts() {
  return {Spec{Elem::kI8, Layout::kLinear, 0, 0}, Spec{Elem::kI8, Layout::kNHWC, 0, 0},
          Spec{Elem::kI8, Layout::kNHWC, 16, 0}, Spec{Elem::kI8, Layout::kNHWC, 3, 7}};
}

static void test_relu_int8() {
  for (auto dims : std::vector<std::vector<int64_t>>{{20, 3, 5}, {32, 2, 2}}) {
    for (const Spec& si : int8_layouts()) {
      for (bool float_out : {false, true}) {
        std::vector<Spec> outs = float_out ? float_layouts(Elem::kF32) : int8_layouts();
        for (const Spec& so : outs) {
          Case c;
          c.label = "ReLU int8";
          int x = c.tensor("x", dims, DType::kInt8, 0.05f);
          int y = c.tensor("y", dims, float_out ? DType::kFloat32 : DType::kInt8, 0.05f);
          c.node("ReLU", {x}, {y}, "{\"negativeSlope\": 0.3}", Precision::kINT8);
          run_case(c, 2, {{x, si}, {y, so}});
        }
      }
    }
  }
}

static void test_quantize() {
  for (auto dims : std::vector<std::vector<int64_t>>{{20, 3, 5}, {3, 4, 4}}) {
    std::vector<Spec> outs = int8_layouts();
    if (dims[0] <= 4) outs.push_back(Spec{Elem::kI8, Layout::kNHWC, 0, 0, true});
    for (const Spec& si : float_layouts(Elem::kF32)) {
      for (const Spec& so : outs) {
        Case c;
        c.label = "Quantize";
        int x = c.tensor("x", dims);
        int y = c.tensor("y", dims, DType::kInt8, 0.013f);
        c.node("Quantize", {x}, {y}, "{}", Precision::kINT8);
        run_case(c, 2, {{x, si}, {y, so}});
      }
    }
  }
}

static void test_prelu() {
  for (auto dims : std::vector<std::vector<int64_t>>{{6, 3, 5}, {6, 2, 2, 2}}) {
    for (bool shared : {false, true}) {
      for (Elem e : {Elem::kF32, Elem::kF16}) {
        for (const Spec& si : float_layouts(e)) {
          for (const Spec& so : float_layouts(e)) {
            if (dims.size() > 3 && (si.layout == Layout::kNHWC || so.layout == Layout::kNHWC || si.before || so.before || si.after || so.after)) continue;
            Case c;
            c.label = std::string("PReLU") + (shared ? " shared" : "");
            int x = c.tensor("x", dims), y = c.tensor("y", dims);
            c.node("PReLU", {x}, {y}, shared ? "{\"channelShared\": true}" : "{\"channelShared\": false}",
                   e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
            std::vector<float> s = random_values(shared ? 1 : 6, DType::kFloat32);
            if (e == Elem::kF16) for (auto& v : s) v = half_round(v);
            c.blob("0", {shared ? 1 : 6}, s);
            run_case(c, 2, {{x, si}, {y, so}});
          }
        }
      }
    }
  }
}

static void test_eltwise() {
  for (std::string op : {"SUM", "PROD", "MAX"}) {
    for (int n : {2, 3}) {
      for (bool relu : {false, true}) {
        for (Elem e : {Elem::kF32, Elem::kF16}) {
          for (const Spec& si : float_layouts(e)) {
            for (const Spec& so : float_layouts(e)) {
              Case c;
              c.label = "Eltwise " + op + " n" + std::to_string(n) + (relu ? " relu" : "");
              std::vector<int> ins;
              for (int i = 0; i < n; ++i) ins.push_back(c.tensor("x" + std::to_string(i), {9, 3, 4}));
              int y = c.tensor("y", {9, 3, 4});
              std::string coeff = op == "SUM" ? (n == 2 ? ", \"coeff\": [0.5, -1.5]" : ", \"coeff\": [0.5, -1.5, 2.25]") : "";
              Node& nd = c.node("Eltwise", ins, {y}, "{\"operation\": \"" + op + "\"" + coeff + "}",
                                e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
              nd.activation.relu = relu;
              nd.activation.negative_slope = 0.1f;
              std::map<int, Spec> specs{{y, so}};
              for (int i = 0; i < n; ++i) specs[ins[i]] = i == 1 ? Spec{e, si.layout, 0, 0} : si;
              run_case(c, 2, specs);
            }
          }
        }
      }
    }
  }
  // INT8 SUM.
  for (int n : {2, 3}) {
    for (bool float_out : {false, true}) {
      for (bool relu : {false, true}) {
        for (const Spec& si : int8_layouts()) {
          Case c;
          c.label = "Eltwise int8 SUM n" + std::to_string(n) + (float_out ? " float out" : "") + (relu ? " relu" : "");
          std::vector<int> ins;
          for (int i = 0; i < n; ++i) ins.push_back(c.tensor("x" + std::to_string(i), {20, 3, 4}, DType::kInt8, 0.01f * (i + 1)));
          int y = c.tensor("y", {20, 3, 4}, float_out ? DType::kFloat32 : DType::kInt8, 0.027f);
          Node& nd = c.node("Eltwise", ins, {y}, "{\"operation\": \"SUM\", \"coeff\": [1, -0.5, 2]}" , Precision::kINT8);
          if (n == 2) {
            c.g.nodes[0].attrs = json::Value();
            json::parse("{\"operation\": \"SUM\", \"coeff\": [1, -0.5]}", &c.g.nodes[0].attrs);
          }
          nd.activation.relu = relu;
          nd.activation.negative_slope = 0.25f;
          std::map<int, Spec> specs{{y, float_out ? Spec{Elem::kF32, si.layout, 0, 0} : si}};
          for (int i = 0; i < n; ++i) specs[ins[i]] = si;
          run_case(c, 2, specs);
        }
      }
    }
  }
}

static void test_pooling() {
  struct P {
    std::string method;
    int k, s, p;
    bool ceil, global;
  };
  std::vector<P> ps = {{"MAX", 3, 2, 0, true, false}, {"MAX", 3, 2, 1, true, false}, {"AVE", 3, 2, 1, true, false},
                       {"AVE", 2, 2, 0, false, false}, {"AVE", 1, 3, 0, true, false}, {"MAX", 1, 3, 0, true, false},
                       {"AVE", 0, 1, 0, true, true},   {"MAX", 0, 1, 0, false, true}, {"STOCHASTIC", 3, 2, 0, true, false},
                       {"AVE", 5, 3, 2, true, false},  {"MAX", 3, 1, 1, true, false}, {"MAX", 2, 1, 0, false, false}};
  for (auto& p : ps) {
    for (auto dims : std::vector<std::vector<int64_t>>{{5, 9, 8}, {17, 7, 7}}) {
      std::string attrs = "{\"method\": \"" + p.method + "\", \"kernel\": [" + std::to_string(p.global ? 1 : p.k) + ", " +
                          std::to_string(p.global ? 1 : p.k) + "], \"stride\": [" + std::to_string(p.s) + ", " +
                          std::to_string(p.s) + "], \"pad\": [" + std::to_string(p.p) + ", " + std::to_string(p.p) +
                          "], \"global\": " + (p.global ? "true" : "false") + ", \"roundMode\": \"" +
                          (p.ceil ? "CEIL" : "FLOOR") + "\"}";
      auto out_dim = [&](int64_t e) {
        if (p.global) return int64_t{1};
        const int64_t span = e + 2 * p.p - p.k;
        int64_t o = (p.ceil ? (span + p.s - 1) / p.s : span / p.s) + 1;
        if (p.p > 0 && (o - 1) * p.s >= e + p.p) --o;
        return o;
      };
      std::vector<int64_t> od = {dims[0], out_dim(dims[1]), out_dim(dims[2])};
      for (Elem e : {Elem::kF32, Elem::kF16}) {
        for (const Spec& si : float_layouts(e)) {
          for (const Spec& so : float_layouts(e)) {
            Case c;
            c.label = "Pooling " + attrs + " " + std::to_string(dims[0]);
            int x = c.tensor("x", dims), y = c.tensor("y", od);
            c.node("Pooling", {x}, {y}, attrs, e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
            run_case(c, 2, {{x, si}, {y, so}});
          }
        }
        // with mask
        if (p.method == "MAX") {
          Case c;
          c.label = "Pooling mask " + attrs;
          int x = c.tensor("x", dims), y = c.tensor("y", od), m = c.tensor("m", od);
          c.node("Pooling", {x}, {y, m}, attrs);
          run_case(c, 2, {{x, Spec{Elem::kF32, Layout::kNHWC, 0, 0}}, {y, Spec{Elem::kF32, Layout::kNHWC, 0, 0}}, {m, Spec{Elem::kF32, Layout::kNHWC, 0, 0}}});
          run_case(c, 2, {{x, Spec{Elem::kF32, Layout::kLinear, 0, 0}}, {y, Spec{Elem::kF32, Layout::kLinear, 0, 0}}, {m, Spec{Elem::kF32, Layout::kLinear, 0, 0}}});
        }
      }
      if (p.method != "STOCHASTIC") {
        for (const Spec& si : int8_layouts()) {
          for (bool float_out : {false, true}) {
            for (const Spec& so : float_out ? float_layouts(Elem::kF32) : int8_layouts()) {
              Case c;
              c.label = "Pooling int8 " + attrs + (float_out ? " float out" : "");
              int x = c.tensor("x", dims, DType::kInt8, 0.04f);
              int y = c.tensor("y", od, float_out ? DType::kFloat32 : DType::kInt8, 0.04f);
              c.node("Pooling", {x}, {y}, attrs, Precision::kINT8);
              run_case(c, 2, {{x, si}, {y, so}});
            }
          }
        }
      }
    }
  }
}

static void test_lrn() {
  for (std::string region : {"ACROSS_CHANNELS", "WITHIN_CHANNEL"}) {
    for (int size : {1, 3, 5}) {
      for (Elem e : {Elem::kF32, Elem::kF16}) {
        for (const Spec& si : float_layouts(e)) {
          for (const Spec& so : float_layouts(e)) {
            Case c;
            c.label = "LRN " + region + " " + std::to_string(size);
            int x = c.tensor("x", {7, 5, 6}), y = c.tensor("y", {7, 5, 6});
            c.node("LRN", {x}, {y},
                   "{\"localSize\": " + std::to_string(size) + ", \"alpha\": 0.0001, \"beta\": 0.75, \"k\": 2, \"region\": \"" +
                       region + "\"}",
                   e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
            // The channels-last kernel's power is exp2(-beta log2 s) (lrn.cu): within 4 ulp of
            // pow, which a float16 store may round to the neighbouring half (8192 float ulp).
            run_case(c, 2, {{x, si}, {y, so}}, e == Elem::kF16 ? 8192 : 4);
          }
        }
      }
      // INT8 in, int8 or float32 out (19 channels: two full 8-lane groups and a partial one).
      for (const Spec& si : int8_layouts()) {
        for (bool float_out : {false, true}) {
          for (const Spec& so : float_out ? float_layouts(Elem::kF32) : int8_layouts()) {
            Case c;
            c.label = "LRN int8 " + region + " " + std::to_string(size) + (float_out ? " float out" : "");
            int x = c.tensor("x", {19, 5, 6}, DType::kInt8, 0.05f);
            int y = c.tensor("y", {19, 5, 6}, float_out ? DType::kFloat32 : DType::kInt8, 0.02f);
            c.node("LRN", {x}, {y},
                   "{\"localSize\": " + std::to_string(size) + ", \"alpha\": 0.5, \"beta\": 0.75, \"k\": 2, \"region\": \"" +
                       region + "\"}",
                   Precision::kINT8);
            // The power may differ from pow in its last bits: an int8 output by one step where the
            // quotient is that close to a half (docs/int8.md), a float output by 4 ulp.
            run_case(c, 2, {{x, si}, {y, so}}, 4, float_out ? 0.0 : 1.0);
          }
        }
      }
    }
  }
}

/// Where a tensor of `c` lives for a run (its own root) and its root's bytes, sentinels outside
/// the view (`values`: dense NCHW to write into the view, or empty for an output).
static Stored stored_as(const Case& c, int t, const Spec& s, int batch, const std::vector<float>& values) {
  Stored st;
  st.place = make_place(c.g.tensors[t], s);
  st.place.root = t;
  const Place& p = st.place;
  const int64_t elems = p.root_image_elems() * batch;
  st.bytes.resize(elems * trtn::cuda::elem_bytes(p.elem));
  for (int64_t i = 0; i < elems; ++i) write_elem(st.bytes.data(), p.elem, i, p.elem == Elem::kI8 ? 85.0f : 12345.0f);
  const View4 v = p.view(st.bytes.data(), batch);
  for (int n = 0; n < batch && !values.empty(); ++n)
    for (int ch = 0; ch < v.c_write; ++ch)
      for (int h = 0; h < v.h; ++h)
        for (int w = 0; w < v.w; ++w) {
          const float val = ch < v.c ? values[((static_cast<int64_t>(n) * v.c + ch) * v.h + h) * v.w + w] : 0.0f;
          write_elem(v.data, p.elem, v.at(n, ch, h, w), val);
        }
  return st;
}

/// The fused LRN + MAX pooling or MAX pooling + LRN (lrn_pool.cu) against the two ops run one after
/// the other (lrn.cu, pooling.cu; each checked against the cpu above): the output root bit for bit,
/// its padding channels and the channels outside its slice included. in_e: the first node's input;
/// out_e: what the LRN stores (and, LRN first, the pooling after it).
static void lrn_pool_case(bool lrn_first, const std::vector<int64_t>& dims, int size, int k, int s, int pad, bool ceil,
                          Elem in_e, Elem out_e, const Spec& si, const Spec& sm, const Spec& so, int batch) {
  auto out_dim = [&](int64_t e) {
    const int64_t span = e + 2 * pad - k;
    int64_t o = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (pad > 0 && (o - 1) * s >= e + pad) --o;
    return o;
  };
  const std::vector<int64_t> pooled = {dims[0], out_dim(dims[1]), out_dim(dims[2])};
  const Elem mid_e = lrn_first ? out_e : in_e;
  auto dtype = [](Elem e) { return e == Elem::kI8 ? DType::kInt8 : DType::kFloat32; };
  auto precision = [&](Elem input) {
    return input == Elem::kI8 ? Precision::kINT8 : out_e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32;
  };
  Case c;
  c.g.max_batch = batch;
  // Pooling first: the pooled tensor keeps the input's scale (docs/int8.md).
  const int x = c.tensor("x", dims, dtype(in_e), 0.05f);
  const int n = c.tensor("n", lrn_first ? dims : pooled, dtype(mid_e), lrn_first ? 0.03f : 0.05f);
  const int p = c.tensor("p", pooled, dtype(out_e), 0.03f);
  const std::string lrn = "{\"localSize\": " + std::to_string(size) +
                          ", \"alpha\": 0.5, \"beta\": 0.75, \"k\": 2, \"region\": \"ACROSS_CHANNELS\"}";
  const std::string pool = "{\"method\": \"MAX\", \"kernel\": [" + std::to_string(k) + ", " + std::to_string(k) +
                           "], \"stride\": [" + std::to_string(s) + ", " + std::to_string(s) + "], \"pad\": [" +
                           std::to_string(pad) + ", " + std::to_string(pad) + "], \"global\": false, \"roundMode\": \"" +
                           (ceil ? "CEIL" : "FLOOR") + "\"}";
  if (lrn_first) {
    c.node("LRN", {x}, {n}, lrn, precision(in_e));
    c.node("Pooling", {n}, {p}, pool, precision(mid_e));
  } else {
    c.node("Pooling", {x}, {n}, pool, precision(in_e));
    c.node("LRN", {n}, {p}, lrn, precision(mid_e));
  }
  std::string label = std::string(lrn_first ? "LRN+Pooling " : "Pooling+LRN ") + std::to_string(dims[0]) + "x" +
                      std::to_string(dims[1]) + "x" + std::to_string(dims[2]) + " size " + std::to_string(size) +
                      " k" + std::to_string(k) + " s" + std::to_string(s) + " p" + std::to_string(pad) +
                      (ceil ? " ceil" : " floor") + " batch " + std::to_string(batch) + " in " +
                      std::to_string(static_cast<int>(in_e)) + " out " + std::to_string(static_cast<int>(out_e)) +
                      " slices " + std::to_string(si.before) + "/" + std::to_string(so.before) + "/" +
                      std::to_string(so.after);
  std::vector<float> xv = random_values(static_cast<size_t>(volume_of(dims) * batch), c.g.tensors[x].dtype);
  if (in_e == Elem::kF16) {
    for (auto& v : xv) v = half_round(v);
  }
  Stored sx = stored_as(c, x, si, batch, xv), sn = stored_as(c, n, sm, batch, {});
  Stored sp = stored_as(c, p, so, batch, {}), sf = stored_as(c, p, so, batch, {});
  std::vector<Place> places(c.g.tensors.size());
  places[x] = sx.place;
  places[n] = sn.place;
  places[p] = sp.place;
  trtn::cuda::DeviceProps props;
  trtn::cuda::CudaOpInit first_init{OpInit{c.g, c.g.nodes[0], c.w, "cuda"}, places, props};
  trtn::cuda::CudaOpInit second_init{OpInit{c.g, c.g.nodes[1], c.w, "cuda"}, places, props};
  std::unique_ptr<trtn::cuda::CudaOp> first, second, fused;
  Status st = trtn::cuda::make_op(first_init, &first);
  if (st.is_ok()) st = trtn::cuda::make_op(second_init, &second);
  if (st.is_ok()) st = trtn::cuda::make_lrn_pool(first_init, second_init, &fused);
  const View4 vx = sx.place.view(sx.bytes.data(), batch), vn = sn.place.view(sn.bytes.data(), batch);
  const View4 vp = sp.place.view(sp.bytes.data(), batch), vf = sf.place.view(sf.bytes.data(), batch);
  std::vector<View4> in1{vx}, out1{vn}, in2{vn}, out2{vp}, outf{vf};
  if (st.is_ok()) st = first->run(trtn::cuda::RunArgs{batch, in1, out1, nullptr, nullptr});
  if (st.is_ok()) st = second->run(trtn::cuda::RunArgs{batch, in2, out2, nullptr, nullptr});
  if (st.is_ok()) st = fused->run(trtn::cuda::RunArgs{batch, in1, outf, nullptr, nullptr});
  ++checks;
  if (!st.is_ok()) {
    ++failures;
    std::printf("FAIL %s: %s\n", label.c_str(), st.message().c_str());
    return;
  }
  // Not a vacuous match: the outputs vary.
  std::map<float, int> seen;
  for (int64_t i = 0; i < static_cast<int64_t>(vp.n) * vp.c * vp.h * vp.w && seen.size() < 3; ++i) {
    seen[read_elem(sp.bytes.data(), sp.place.elem, i)]++;
  }
  if (sp.bytes != sf.bytes || seen.size() < 3) {
    ++failures;
    size_t first = 0;
    while (first < sp.bytes.size() && sp.bytes[first] == sf.bytes[first]) ++first;
    std::printf("FAIL %s: fused output differs from the two ops (first byte %zu of %zu; %zu distinct values)\n",
                label.c_str(), first, sp.bytes.size(), seen.size());
  } else if (std::getenv("VERBOSE")) {
    std::printf("ok   %s\n", label.c_str());
  }
}

static void test_lrn_pool() {
  struct G {
    std::vector<int64_t> dims;
    int size, k, s, pad;
    bool ceil;
  };
  // AlexNet's norm1 -> pool1 shape scaled down, ceil-mode edges (windows past the input), padding,
  // stride 1, partial channel groups (19, 37), a window of 9 channels, stride > kernel (pooling
  // first only) and a tile that must shrink to fit (300 channels of float32).
  const std::vector<G> geoms = {{{16, 11, 11}, 5, 3, 2, 0, true},  {{19, 12, 9}, 5, 3, 2, 0, true},
                                {{37, 9, 10}, 3, 2, 2, 1, true},   {{8, 7, 7}, 9, 3, 1, 1, false},
                                {{24, 20, 17}, 5, 3, 2, 0, false}, {{40, 5, 6}, 1, 2, 1, 0, true},
                                {{300, 9, 9}, 5, 3, 2, 0, true}};
  const Spec nhwc{Elem::kF32, Layout::kNHWC, 0, 0};
  for (bool lrn_first : {true, false}) {
    for (const G& g : geoms) {
      for (auto [in_e, out_e] : std::vector<std::pair<Elem, Elem>>{
               {Elem::kF32, Elem::kF32}, {Elem::kF16, Elem::kF16}, {Elem::kI8, Elem::kI8}, {Elem::kI8, Elem::kF32}}) {
        Spec si = nhwc, sm = nhwc, so = nhwc;
        si.elem = in_e;
        sm.elem = lrn_first ? out_e : in_e;
        so.elem = out_e;
        lrn_pool_case(lrn_first, g.dims, g.size, g.k, g.s, g.pad, g.ceil, in_e, out_e, si, sm, so, 2);
        // The output as a channel slice of a larger root (an elided Concat), the input too.
        Spec si2 = si, so2 = so;
        si2.before = 3;
        si2.after = 5;
        so2.before = 8;
        so2.after = 4;
        lrn_pool_case(lrn_first, g.dims, g.size, g.k, g.s, g.pad, g.ceil, in_e, out_e, si2, sm, so2, 3);
      }
    }
    // Pooling first with stride > kernel (windows that skip pixels).
    if (!lrn_first) {
      lrn_pool_case(false, {21, 11, 11}, 5, 2, 3, 0, true, Elem::kI8, Elem::kI8, Spec{Elem::kI8, Layout::kNHWC, 0, 0},
                    Spec{Elem::kI8, Layout::kNHWC, 0, 0}, Spec{Elem::kI8, Layout::kNHWC, 0, 0}, 2);
    }
  }
}

static void test_softmax() {
  for (auto dims : std::vector<std::vector<int64_t>>{{7, 3, 5}, {40, 2, 3}, {300}, {5, 4, 3, 2}}) {
    const int rank = static_cast<int>(dims.size()) + 1;
    for (int axis = 0; axis < rank; ++axis) {
      for (Elem e : {Elem::kF32, Elem::kF16}) {
        for (const Spec& si : float_layouts(e)) {
          for (const Spec& so : float_layouts(e)) {
            const bool views = axis == 1 && dims.size() <= 3;
            if (!views && (si.layout == Layout::kNHWC || so.layout == Layout::kNHWC || si.before || so.before || si.after || so.after)) continue;
            Case c;
            c.label = "Softmax axis " + std::to_string(axis);
            int x = c.tensor("x", dims), y = c.tensor("y", dims);
            c.node("Softmax", {x}, {y}, "{\"axis\": " + std::to_string(axis) + "}", e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
            // Warp reductions sum in another order.
            run_case(c, 3, {{x, si}, {y, so}}, e == Elem::kF16 ? 8192 : 16);
          }
        }
      }
    }
  }
}

static void test_concat() {
  // axis 1 with views, float
  for (Elem e : {Elem::kF32, Elem::kF16}) {
    for (Layout l : {Layout::kLinear, Layout::kNHWC}) {
      Case c;
      c.label = "Concat axis 1";
      int a = c.tensor("a", {3, 4, 5}), b = c.tensor("b", {6, 4, 5}), d = c.tensor("d", {5, 4, 5}), y = c.tensor("y", {14, 4, 5});
      c.node("Concat", {a, b, d}, {y}, "{\"axis\": 1}", e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
      run_case(c, 2, {{a, Spec{e, l, 0, 0}}, {b, Spec{e, l, 2, 0}}, {d, Spec{e, Layout::kLinear, 0, 0}}, {y, Spec{e, l, 0, 0}}});
      run_case(c, 2, {{a, Spec{e, l, 0, 0}}, {b, Spec{e, l, 0, 0}}, {d, Spec{e, l, 0, 0}}, {y, Spec{e, l, 1, 3}}});
    }
  }
  // other axes, rank 4
  for (int axis : {1, 2, 3, 4, -1}) {
    Case c;
    c.label = "Concat axis " + std::to_string(axis) + " rank 5";
    std::vector<int64_t> da = {2, 3, 4, 5}, db = da, dy = da;
    const int a_idx = (axis < 0 ? 4 : axis) - 1;
    db[a_idx] = 3;
    dy[a_idx] = da[a_idx] + 3;
    int a = c.tensor("a", da), b = c.tensor("b", db), y = c.tensor("y", dy);
    c.node("Concat", {a, b}, {y}, "{\"axis\": " + std::to_string(axis) + "}");
    run_case(c, 2, {});
    for (Elem e : {Elem::kF16}) run_case(c, 2, {{a, Spec{e}}, {b, Spec{e}}, {y, Spec{e}}});
  }
  // other axes, rank 3 (dense)
  for (int axis : {2, 3}) {
    Case c;
    c.label = "Concat axis " + std::to_string(axis) + " rank 4";
    std::vector<int64_t> da = {4, 3, 5}, db = da, dy = da;
    db[axis - 1] = 2;
    dy[axis - 1] += 2;
    int a = c.tensor("a", da), b = c.tensor("b", db), y = c.tensor("y", dy);
    c.node("Concat", {a, b}, {y}, "{\"axis\": " + std::to_string(axis) + "}");
    run_case(c, 2, {});
  }
  // INT8
  for (bool float_out : {false, true}) {
    for (Layout l : {Layout::kLinear, Layout::kNHWC}) {
      Case c;
      c.label = std::string("Concat int8") + (float_out ? " float out" : "");
      int a = c.tensor("a", {16, 3, 3}, DType::kInt8, 0.02f), b = c.tensor("b", {20, 3, 3}, DType::kInt8, 0.05f);
      int y = c.tensor("y", {36, 3, 3}, float_out ? DType::kFloat32 : DType::kInt8, 0.05f);
      c.node("Concat", {a, b}, {y}, "{\"axis\": 1}", Precision::kINT8);
      run_case(c, 2, {{a, Spec{Elem::kI8, l}}, {b, Spec{Elem::kI8, l}}, {y, Spec{float_out ? Elem::kF32 : Elem::kI8, l}}});
    }
    Case c;
    c.label = std::string("Concat int8 axis 2") + (float_out ? " float out" : "");
    int a = c.tensor("a", {4, 3, 3}, DType::kInt8, 0.02f), b = c.tensor("b", {4, 2, 3}, DType::kInt8, 0.05f);
    int y = c.tensor("y", {4, 5, 3}, float_out ? DType::kFloat32 : DType::kInt8, 0.05f);
    c.node("Concat", {a, b}, {y}, "{\"axis\": 2}", Precision::kINT8);
    run_case(c, 2, {{a, Spec{Elem::kI8}}, {b, Spec{Elem::kI8}}, {y, Spec{float_out ? Elem::kF32 : Elem::kI8}}});
  }
}

static void test_affine() {
  // BatchNorm global (views) and batch stats
  for (bool global : {true, false}) {
    for (auto dims : std::vector<std::vector<int64_t>>{{6, 3, 4}, {6, 2, 2, 3}, {6}}) {
      for (Elem e : {Elem::kF32, Elem::kF16}) {
        for (const Spec& si : float_layouts(e)) {
          for (const Spec& so : float_layouts(e)) {
            const bool views = global && dims.size() <= 3;
            if (!views && (si.layout == Layout::kNHWC || so.layout == Layout::kNHWC || si.before || so.before || si.after || so.after)) continue;
            Case c;
            c.label = std::string("BatchNorm ") + (global ? "global" : "batch stats");
            int x = c.tensor("x", dims), y = c.tensor("y", dims);
            c.node("BatchNorm", {x}, {y}, std::string("{\"eps\": 0.001, \"useGlobalStats\": ") + (global ? "true" : "false") + "}",
                   e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
            std::vector<float> mean = random_values(6, DType::kFloat32), var = random_values(6, DType::kFloat32, 0.1, 3);
            c.blob("0", {6}, mean);
            c.blob("1", {6}, var);
            c.blob("2", {1}, {0.5f});
            run_case(c, 3, {{x, si}, {y, so}}, global ? 0 : 2);
          }
        }
      }
    }
  }
  // Scale / Bias with blobs: axis 1 numAxes 1 (views), axis 2 numAxes 1, axis 1 numAxes 2, axis 1 numAxes -1
  struct A {
    int axis, num;
  };
  for (A a : {A{1, 1}, A{2, 1}, A{1, 2}, A{1, -1}, A{2, 2}, A{3, 0}}) {
    for (std::string op : {"Scale", "Bias"}) {
      for (bool bias_term : {false, true}) {
        if (op == "Bias" && bias_term) continue;
        std::vector<int64_t> dims = {4, 3, 5};
        int64_t dim = 1;
        const int rank = 4;
        const int end = a.num == -1 ? rank : a.axis + a.num;
        for (int d = a.axis; d < end; ++d) dim *= dims[d - 1];
        for (const Spec& si : float_layouts(Elem::kF32)) {
          for (const Spec& so : float_layouts(Elem::kF32)) {
            const bool views = a.axis == 1 && a.num == 1;
            if (!views && (si.layout == Layout::kNHWC || so.layout == Layout::kNHWC || si.before || so.before || si.after || so.after)) continue;
            Case c;
            c.label = op + " axis " + std::to_string(a.axis) + " num " + std::to_string(a.num) + (bias_term ? " bias" : "");
            int x = c.tensor("x", dims), y = c.tensor("y", dims);
            c.node(op, {x}, {y},
                   "{\"axis\": " + std::to_string(a.axis) + ", \"numAxes\": " + std::to_string(a.num) +
                       ", \"biasTerm\": " + (bias_term ? "true" : "false") + "}");
            c.blob("0", {dim}, random_values(dim, DType::kFloat32));
            if (bias_term) c.blob("1", {dim}, random_values(dim, DType::kFloat32));
            run_case(c, 2, {{x, si}, {y, so}});
          }
        }
      }
    }
  }
  // Scale with input operand
  for (std::string op : {"Scale", "Bias"}) {
    for (auto od : std::vector<std::vector<int64_t>>{{4}, {4, 3}, {4, 3, 5}}) {
      Case c;
      c.label = op + " input operand";
      int x = c.tensor("x", {4, 3, 5}), s = c.tensor("s", od), y = c.tensor("y", {4, 3, 5});
      c.node(op, {x, s}, {y}, "{\"axis\": 0, \"numAxes\": 1, \"biasTerm\": false}");
      run_case(c, 2, {});
      run_case(c, 2, {{x, Spec{Elem::kF16}}, {s, Spec{Elem::kF16}}, {y, Spec{Elem::kF16}}});
    }
  }
}

static void test_reshape() {
  Case c;
  c.label = "Flatten";
  int x = c.tensor("x", {4, 3, 5}), y = c.tensor("y", {60});
  c.node("Flatten", {x}, {y}, "{}");
  run_case(c, 2, {});
  run_case(c, 2, {{x, Spec{Elem::kF16}}, {y, Spec{Elem::kF32}}});
  run_case(c, 2, {{x, Spec{Elem::kF32}}, {y, Spec{Elem::kF16}}});
  run_case(c, 2, {{x, Spec{Elem::kF16}}, {y, Spec{Elem::kF16}}});
  for (bool float_out : {false, true}) {
    Case d;
    d.label = std::string("Reshape int8") + (float_out ? " float out" : "");
    int a = d.tensor("x", {4, 3, 5}, DType::kInt8, 0.3f), b = d.tensor("y", {12, 5}, float_out ? DType::kFloat32 : DType::kInt8, 0.3f);
    d.node("Reshape", {a}, {b}, "{}", Precision::kINT8);
    run_case(d, 2, {{a, Spec{Elem::kI8}}, {b, Spec{float_out ? Elem::kF32 : Elem::kI8}}});
  }
}

static void test_shape_ops() {
  for (Elem e : {Elem::kF32, Elem::kF16}) {
    for (int axis : {1, 2, 3}) {
      Case c;
      c.label = "Slice axis " + std::to_string(axis);
      std::vector<int64_t> d = {6, 8, 5};
      std::vector<int64_t> d1 = d, d2 = d, d3 = d;
      d1[axis - 1] = 2;
      d2[axis - 1] = 1;
      d3[axis - 1] = d[axis - 1] - 3;
      int x = c.tensor("x", d), a = c.tensor("a", d1), b = c.tensor("b", d2), f = c.tensor("f", d3);
      c.node("Slice", {x}, {a, b, f}, "{\"axis\": " + std::to_string(axis) + ", \"points\": [2, 3]}");
      run_case(c, 2, {{x, Spec{e}}, {a, Spec{e}}, {b, Spec{e}}, {f, Spec{e}}});
    }
    for (int axis : {1, 2, 3}) {
      for (int tiles : {1, 3}) {
        Case c;
        c.label = "Tile axis " + std::to_string(axis) + " x" + std::to_string(tiles);
        std::vector<int64_t> d = {3, 4, 8}, o = d;
        o[axis - 1] *= tiles;
        int x = c.tensor("x", d), y = c.tensor("y", o);
        c.node("Tile", {x}, {y}, "{\"axis\": " + std::to_string(axis) + ", \"tiles\": " + std::to_string(tiles) + "}");
        run_case(c, 2, {{x, Spec{e}}, {y, Spec{e}}});
      }
    }
    for (int axis : {0, 1, 2, 3}) {
      Case c;
      c.label = "Crop axis " + std::to_string(axis);
      std::vector<int64_t> d = {6, 9, 12}, r = {4, 5, 8};
      std::vector<int64_t> off;
      std::vector<int64_t> want = d;
      for (int i = axis; i < 4; ++i) {
        if (i == 0) {
          off.push_back(0);
          continue;
        }
        off.push_back(i);
        want[i - 1] = r[i - 1];
      }
      std::string os;
      for (size_t i = 0; i < off.size(); ++i) os += (i ? ", " : "") + std::to_string(off[i]);
      int x = c.tensor("x", d), rf = c.tensor("r", r), y = c.tensor("y", want);
      c.node("Crop", {x, rf}, {y}, "{\"axis\": " + std::to_string(axis) + ", \"offsets\": [" + os + "]}");
      run_case(c, 2, {{x, Spec{e}}, {rf, Spec{e}}, {y, Spec{e}}});
    }
  }
}

static void test_crop_aligned() {
  for (Elem e : {Elem::kF32, Elem::kF16}) {
    Case c;
    c.label = "Crop aligned";
    int x = c.tensor("x", {6, 9, 16}), rf = c.tensor("r", {4, 5, 8}), y = c.tensor("y", {6, 9, 8});
    c.node("Crop", {x, rf}, {y}, "{\"axis\": 3, \"offsets\": [8]}");
    run_case(c, 3, {{x, Spec{e}}, {rf, Spec{e}}, {y, Spec{e}}});
    Case d;
    d.label = "Crop aligned 2";
    x = d.tensor("x", {6, 9, 16}), rf = d.tensor("r", {4, 5, 8}), y = d.tensor("y", {6, 5, 8});
    d.node("Crop", {x, rf}, {y}, "{\"axis\": 2, \"offsets\": [2, 8]}");
    run_case(d, 3, {{x, Spec{e}}, {rf, Spec{e}}, {y, Spec{e}}});
  }
}

static void test_argmax_reduction_mvn_embed() {
  for (Elem e : {Elem::kF32, Elem::kF16}) {
    for (int topk : {1, 3}) {
      for (bool maxval : {false, true}) {
        for (int axis : {-1, 1, 2, 3}) {
          std::vector<int64_t> d = {5, 4, 200};
          Case c;
          c.label = "ArgMax axis " + std::to_string(axis) + " top " + std::to_string(topk) + (maxval ? " val" : "");
          std::vector<int64_t> o;
          std::string attrs = "{\"topK\": " + std::to_string(topk) + ", \"outMaxVal\": " + (maxval ? "true" : "false");
          if (axis < 0) {
            o = {maxval ? 2 : 1, topk, 1};
          } else {
            o = d;
            o[axis - 1] = topk;
            attrs += ", \"axis\": " + std::to_string(axis);
          }
          attrs += "}";
          int x = c.tensor("x", d), y = c.tensor("y", o);
          c.node("ArgMax", {x}, {y}, attrs);
          // ties: quantize inputs coarsely
          std::vector<float> v = random_values(5 * 4 * 200 * 2, DType::kFloat32);
          for (auto& q : v) q = std::round(q * 4) / 4;
          run_case(c, 2, {{x, Spec{e}}, {y, Spec{e}}}, 0, 0, {{x, v}});
        }
      }
    }
    for (std::string op : {"SUM", "ASUM", "SUMSQ", "MEAN"}) {
      for (int axis : {1, 2, 3}) {
        Case c;
        c.label = "Reduction " + op + " axis " + std::to_string(axis);
        std::vector<int64_t> d = {5, 40, 70};
        std::vector<int64_t> o(d.begin(), d.begin() + axis - 1);
        int x = c.tensor("x", d), y = c.tensor("y", o);
        c.node("Reduction", {x}, {y}, "{\"operation\": \"" + op + "\", \"axis\": " + std::to_string(axis) + ", \"coeff\": 0.7}");
        run_case(c, 2, {{x, Spec{e}}, {y, Spec{e}}}, 1);
      }
    }
    for (bool nv : {false, true}) {
      for (bool across : {false, true}) {
        Case c;
        c.label = std::string("MVN") + (nv ? " nv" : "") + (across ? " across" : "");
        int x = c.tensor("x", {3, 20, 70}), y = c.tensor("y", {3, 20, 70});
        c.node("MVN", {x}, {y}, std::string("{\"normalizeVariance\": ") + (nv ? "true" : "false") +
                                    ", \"acrossChannels\": " + (across ? "true" : "false") + ", \"eps\": 1e-5}");
        run_case(c, 2, {{x, Spec{e}}, {y, Spec{e}}}, 1);
      }
    }
    for (bool bias : {false, true}) {
      Case c;
      c.label = std::string("Embed") + (bias ? " bias" : "");
      int x = c.tensor("x", {3, 2}), y = c.tensor("y", {3, 2, 7});
      c.node("Embed", {x}, {y}, std::string("{\"numOutput\": 7, \"inputDim\": 11, \"biasTerm\": ") + (bias ? "true" : "false") + "}");
      c.blob("0", {11, 7}, random_values(77, DType::kFloat32));
      if (bias) c.blob("1", {7}, random_values(7, DType::kFloat32));
      std::vector<float> idx(12);
      for (auto& v : idx) v = static_cast<float>(std::uniform_int_distribution<int>(0, 10)(rng));
      run_case(c, 2, {{x, Spec{e}}, {y, Spec{e}}}, 0, 0, {{x, idx}});
    }
  }
}

static void test_deconv() {
  struct D {
    std::vector<int64_t> in;
    int cout, group;
    std::vector<int64_t> k, s, p, dil;
  };
  std::vector<D> ds = {{{4, 5, 6}, 6, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1}},
                       {{4, 5, 6}, 6, 2, {4, 3}, {2, 1}, {1, 0}, {1, 2}},
                       {{3, 7}, 2, 1, {5}, {3}, {1}, {2}},
                       {{2, 3, 3, 4}, 3, 1, {2, 2, 3}, {2, 1, 2}, {0, 1, 1}, {1, 1, 1}},
                       {{4, 4, 4}, 4, 4, {4, 4}, {4, 4}, {0, 0}, {1, 1}}};
  for (auto& d : ds) {
    for (Precision prec : {Precision::kFP32, Precision::kTF32, Precision::kFP16}) {
      for (bool relu : {false, true}) {
        Case c;
        auto list = [](const std::vector<int64_t>& v) {
          std::string s = "[";
          for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
          return s + "]";
        };
        std::vector<int64_t> od = {d.cout};
        for (size_t a = 0; a < d.k.size(); ++a) {
          od.push_back(d.s[a] * (d.in[a + 1] - 1) + d.dil[a] * (d.k[a] - 1) + 1 - 2 * d.p[a]);
        }
        c.label = "Deconv " + list(d.in) + " k" + list(d.k) + " s" + list(d.s) + " g" + std::to_string(d.group) + " " +
                  precision_name(prec) + (relu ? " relu" : "");
        int x = c.tensor("x", d.in), y = c.tensor("y", od);
        Node& nd = c.node("Deconvolution", {x}, {y},
                          "{\"numOutput\": " + std::to_string(d.cout) + ", \"kernel\": " + list(d.k) + ", \"stride\": " +
                              list(d.s) + ", \"pad\": " + list(d.p) + ", \"dilation\": " + list(d.dil) +
                              ", \"group\": " + std::to_string(d.group) + "}",
                          prec);
        nd.activation.relu = relu;
        nd.activation.negative_slope = 0.2f;
        std::vector<int64_t> wd = {d.in[0], d.cout / d.group};
        wd.insert(wd.end(), d.k.begin(), d.k.end());
        std::vector<float> w = random_values(volume_of(wd), DType::kFloat32);
        if (prec == Precision::kTF32) for (auto& v : w) v = numeric::round_to_tf32(v);
        if (prec == Precision::kFP16) for (auto& v : w) v = half_round(v);
        Blob wb;
        wb.dims = wd;
        wb.f32 = w;
        c.w.put(nd.name + "/weights", wb);
        Blob bb;
        bb.dims = {d.cout};
        bb.f32 = random_values(d.cout, DType::kFloat32);
        c.w.put(nd.name + "/bias", bb);
        const Elem e = prec == Precision::kFP16 ? Elem::kF16 : Elem::kF32;
        run_case(c, 2, {{x, Spec{e}}, {y, Spec{e}}}, 64, 1e-5);
      }
    }
  }
}

static void test_reformat() {
  std::vector<Spec> specs;
  for (Elem e : {Elem::kF32, Elem::kF16}) {
    for (auto s : float_layouts(e)) specs.push_back(s);
  }
  specs.push_back(Spec{Elem::kF16, Layout::kNHWC, 0, 0, true});
  for (auto dims : std::vector<std::vector<int64_t>>{{5, 7, 9}, {40, 3, 11}, {3, 33, 35}}) {
    for (const Spec& a : specs) {
      for (const Spec& b : specs) {
        if ((a.quad || b.quad) && dims[0] > 4) continue;
        Case c;
        c.label = "Reformat";
        int x = c.tensor("x", dims), y = c.tensor("y", dims);
        Place pa = make_place(c.g.tensors[x], a), pb = make_place(c.g.tensors[y], b);
        const int batch = 2;
        std::vector<uint8_t> ba(pa.root_image_elems() * batch * trtn::cuda::elem_bytes(a.elem)),
            bb(pb.root_image_elems() * batch * trtn::cuda::elem_bytes(b.elem));
        for (int64_t i = 0; i < pb.root_image_elems() * batch; ++i) write_elem(bb.data(), b.elem, i, 777.0f);
        View4 va = pa.view(ba.data(), batch), vb = pb.view(bb.data(), batch);
        std::vector<float> vals = random_values(volume_of(dims) * batch, DType::kFloat32);
        for (int n = 0; n < batch; ++n)
          for (int ch = 0; ch < va.c_write; ++ch)
            for (int h = 0; h < va.h; ++h)
              for (int w = 0; w < va.w; ++w)
                write_elem(va.data, a.elem, va.at(n, ch, h, w),
                           ch < va.c ? vals[((n * va.c + ch) * va.h + h) * va.w + w] : 0.0f);
        Status st = trtn::cuda::launch_reformat(va, vb, nullptr);
        ++checks;
        int bad = 0;
        for (int n = 0; n < batch; ++n)
          for (int ch = 0; ch < vb.c_write; ++ch)
            for (int h = 0; h < vb.h; ++h)
              for (int w = 0; w < vb.w; ++w) {
                float want = ch < vb.c ? read_elem(va.data, a.elem, va.at(n, ch, h, w)) : 0.0f;
                if (b.elem == Elem::kF16) want = half_round(want);
                if (read_elem(vb.data, b.elem, vb.at(n, ch, h, w)) != want) ++bad;
              }
        if (!st.is_ok() || bad) {
          ++failures;
          std::printf("FAIL reformat %d->%d layouts %d->%d slices (%d,%d)->(%d,%d): %s, %d bad\n", (int)a.elem, (int)b.elem,
                      (int)a.layout, (int)b.layout, a.before, a.after, b.before, b.after, st.message().c_str(), bad);
        }
      }
    }
  }
  // int8 reformat
  for (auto a : int8_layouts()) {
    for (auto b : int8_layouts()) {
      std::vector<int64_t> dims = {20, 5, 6};
      TensorDesc t;
      t.dims = dims;
      Place pa = make_place(t, a), pb = make_place(t, b);
      const int batch = 3;
      std::vector<uint8_t> ba(pa.root_image_elems() * batch), bb(pb.root_image_elems() * batch, 0x55);
      View4 va = pa.view(ba.data(), batch), vb = pb.view(bb.data(), batch);
      for (int n = 0; n < batch; ++n)
        for (int ch = 0; ch < va.c_write; ++ch)
          for (int h = 0; h < va.h; ++h)
            for (int w = 0; w < va.w; ++w)
              write_elem(va.data, Elem::kI8, va.at(n, ch, h, w), ch < va.c ? static_cast<float>((n * 31 + ch * 7 + h * 3 + w) % 255 - 127) : 0.0f);
      Status st = trtn::cuda::launch_reformat(va, vb, nullptr);
      ++checks;
      int bad = 0;
      for (int n = 0; n < batch; ++n)
        for (int ch = 0; ch < vb.c_write; ++ch)
          for (int h = 0; h < vb.h; ++h)
            for (int w = 0; w < vb.w; ++w) {
              float want = ch < vb.c ? read_elem(va.data, Elem::kI8, va.at(n, ch, h, w)) : 0.0f;
              if (read_elem(vb.data, Elem::kI8, vb.at(n, ch, h, w)) != want) ++bad;
            }
      if (!st.is_ok() || bad) {
        ++failures;
        std::printf("FAIL reformat int8 layouts %d->%d: %d bad\n", (int)a.layout, (int)b.layout, bad);
      }
    }
  }
  // convert
  for (Elem a : {Elem::kF32, Elem::kF16}) {
    for (Elem b : {Elem::kF32, Elem::kF16}) {
      for (int64_t count : {1, 7, 8, 37, 1000}) {
        std::vector<uint8_t> ba(count * 4 + 16), bb(count * 4 + 16);
        std::vector<float> vals = random_values(count, DType::kFloat32);
        for (int64_t i = 0; i < count; ++i) write_elem(ba.data(), a, i, vals[i]);
        Status st = trtn::cuda::launch_convert(ba.data(), a, bb.data(), b, count, nullptr);
        ++checks;
        int bad = 0;
        for (int64_t i = 0; i < count; ++i) {
          float want = read_elem(ba.data(), a, i);
          if (b == Elem::kF16) want = half_round(want);
          if (read_elem(bb.data(), b, i) != want) ++bad;
        }
        if (!st.is_ok() || bad) {
          ++failures;
          std::printf("FAIL convert %d->%d count %lld: %d bad\n", (int)a, (int)b, (long long)count, bad);
        }
      }
    }
  }
}

// Preprocess: uint8 images [H_in, W_in, C] into every output form (float32 / float16 planes and
// padded NHWC, int8 with the Quantize fused in, a channel slice), per-channel and per-pixel means,
// channel swap, centre crops, rows whose chunks are word-aligned or not, a partial last chunk.
static void test_preprocess() {
  struct Dims {
    int64_t in_h, in_w, c, out_h, out_w;
  };
  const std::vector<Dims> dims = {{6, 9, 3, 6, 9},  {8, 12, 3, 5, 8}, {7, 7, 1, 5, 5},  {9, 16, 4, 4, 8},
                                  {5, 6, 2, 5, 6},  {10, 11, 3, 7, 6}, {4, 8, 3, 4, 8}, {6, 16, 3, 4, 8},
                                  {12, 16, 1, 8, 8}};
  for (const Dims& d : dims) {
    for (int mean_kind = 0; mean_kind < 3; ++mean_kind) {  // none (zeros), per channel, per pixel
      for (bool swap : {false, true}) {
        if (swap && d.c != 3) continue;
        const std::vector<Spec> forms = {
            Spec{Elem::kF32, Layout::kLinear}, Spec{Elem::kF32, Layout::kNHWC},     Spec{Elem::kF16, Layout::kLinear},
            Spec{Elem::kF16, Layout::kNHWC},   Spec{Elem::kI8, Layout::kNHWC},      Spec{Elem::kI8, Layout::kLinear},
            Spec{Elem::kF32, Layout::kNHWC, 2, 3}, Spec{Elem::kF16, Layout::kLinear, 1, 2},
            Spec{Elem::kF16, Layout::kNHWC, 0, 0, true}, Spec{Elem::kI8, Layout::kNHWC, 0, 0, true}};
        for (const Spec& so : forms) {
          const Elem e = so.elem;
          Case c;
          const int64_t h_off = (d.in_h - d.out_h) / 2, w_off = (d.in_w - d.out_w) / 2;
          c.label = "Preprocess " + std::to_string(d.in_h) + "x" + std::to_string(d.in_w) + "x" + std::to_string(d.c) +
                    " -> " + std::to_string(d.out_h) + "x" + std::to_string(d.out_w) + " mean " + std::to_string(mean_kind) +
                    (swap ? " swap" : "");
          const bool int8 = e == Elem::kI8;
          int x = c.tensor("image", {d.in_h, d.in_w, d.c}, DType::kUInt8);
          int y = c.tensor("data", {d.c, d.out_h, d.out_w}, int8 ? DType::kInt8 : DType::kFloat32, int8 ? 0.025f : 0.0f);
          std::string attrs = "{\"swapChannels\": " + std::string(swap ? "true" : "false") + ", \"offset\": [" +
                              std::to_string(h_off) + ", " + std::to_string(w_off) + "], \"scale\": 0.0171";
          if (mean_kind != 2) {
            attrs += ", \"mean\": [";
            for (int64_t k = 0; k < d.c; ++k) attrs += (k ? ", " : "") + std::string(mean_kind == 0 ? "0" : std::to_string(100 + 11 * k) + ".5");
            attrs += "]";
          }
          attrs += "}";
          Node& n = c.node("Preprocess", {x}, {y}, attrs,
                           int8 ? Precision::kINT8 : e == Elem::kF16 ? Precision::kFP16 : Precision::kFP32);
          if (mean_kind == 2) {
            n.weights = {0};
            WeightDesc wd;
            wd.name = "mean";
            wd.dims = {d.c, d.in_h, d.in_w};
            wd.volume = volume_of(wd.dims);
            c.g.weights.push_back(wd);
            c.blob("0", wd.dims, random_values(static_cast<size_t>(wd.volume), DType::kFloat32, 60, 160));
          }
          for (int batch : {1, 3}) run_case(c, batch, {{x, Spec{Elem::kU8}}, {y, so}});
        }
      }
    }
  }
}

int main(int argc, char** argv) {
  std::string only = argc > 1 ? argv[1] : "";
  auto want = [&](const char* name) { return only.empty() || only == name; };
  if (want("activation")) test_activations();
  if (want("relu_int8")) test_relu_int8();
  if (want("quantize")) test_quantize();
  if (want("prelu")) test_prelu();
  if (want("eltwise")) test_eltwise();
  if (want("pooling")) test_pooling();
  if (want("lrn")) test_lrn();
  if (want("lrn_pool")) test_lrn_pool();
  if (want("softmax")) test_softmax();
  if (want("concat")) test_concat();
  if (want("affine")) test_affine();
  if (want("reshape")) test_reshape();
  if (want("shape")) test_shape_ops();
  if (want("shape")) test_crop_aligned();
  if (want("misc")) test_argmax_reduction_mvn_embed();
  if (want("deconv")) test_deconv();
  if (want("reformat")) test_reformat();
  if (want("preprocess")) test_preprocess();
  std::printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
