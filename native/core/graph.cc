#include "core/graph.h"

#include <algorithm>
#include <cstdint>
#include <cmath>

namespace trtn {
namespace {

// Elements per image are bounded so that a batch of 2^20 stays within int64 byte counts.
constexpr int64_t kMaxVolume = int64_t{1} << 36;

Status bad(const std::string& what) { return Status(Code::kInvalidArgument, "execution graph: " + what); }

Status parse_precision(const std::string& s, Precision* out) {
  if (s == "fp32")
    *out = Precision::kFP32;
  else if (s == "tf32")
    *out = Precision::kTF32;
  else if (s == "fp16")
    *out = Precision::kFP16;
  else if (s == "int8")
    *out = Precision::kINT8;
  else
    return bad("unknown precision '" + s + "'");
  return Status::ok();
}

Status ids(const json::Value& obj, const std::string& key, const std::string& where, int64_t limit,
           std::vector<int>* out) {
  std::vector<int64_t> raw;
  TRTN_TRY(json::get_ints(obj, key, where, &raw));
  out->clear();
  for (int64_t v : raw) {
    if (v < 0 || v >= limit) return bad(where + ": " + key + " id " + std::to_string(v) + " is out of range");
    out->push_back(static_cast<int>(v));
  }
  return Status::ok();
}

Status dims_of(const json::Value& obj, const std::string& where, std::vector<int64_t>* dims, int64_t* volume) {
  TRTN_TRY(json::get_ints(obj, "dims", where, dims));
  *volume = 1;
  for (int64_t d : *dims) {
    if (d <= 0) return bad(where + ": dimensions must be > 0");
    if (*volume > kMaxVolume / d) return bad(where + ": too many elements");
    *volume *= d;
  }
  return Status::ok();
}

}  // namespace

int dtype_bytes(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kFloat16: return 2;
    case DType::kInt8:
    case DType::kUInt8: return 1;
  }
  return 4;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kInt8: return "int8";
    case DType::kUInt8: return "uint8";
  }
  return "float32";
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFP32: return "fp32";
    case Precision::kTF32: return "tf32";
    case Precision::kFP16: return "fp16";
    case Precision::kINT8: return "int8";
  }
  return "fp32";
}

bool is_known_op(const std::string& op) {
  OpKind kind;
  return op_kind_of(op, &kind);
}

int64_t volume_of(const std::vector<int64_t>& dims) {
  int64_t v = 1;
  for (int64_t d : dims) v *= d;
  return v;
}

Status parse_graph(const std::string& json_text, Graph* out) {
  json::Value root;
  TRTN_TRY(json::parse(json_text, &root));
  if (!root.is_object()) return bad("not an object");
  Graph g;
  int64_t format = 0, max_batch = 0;
  std::string precision;
  TRTN_TRY(json::get_int(root, "format", "graph", &format));
  if (format != 1) return bad("format " + std::to_string(format) + " is not 1");
  TRTN_TRY(json::opt_string(root, "name", "graph", &g.name));
  TRTN_TRY(json::get_string(root, "precision", "graph", &precision));
  TRTN_TRY(parse_precision(precision, &g.precision));
  TRTN_TRY(json::get_int(root, "maxBatchSize", "graph", &max_batch));
  if (max_batch < 1 || max_batch > (1 << 20)) return bad("maxBatchSize must be in [1, 1048576]");
  g.max_batch = static_cast<int>(max_batch);

  const json::Value* tensors = root.get("tensors");
  if (tensors == nullptr || !tensors->is_array()) return bad("'tensors' must be a list");
  for (size_t i = 0; i < tensors->items().size(); ++i) {
    const json::Value& t = tensors->items()[i];
    std::string where = "tensor " + std::to_string(i);
    TensorDesc d;
    std::string dtype = "float32";
    double scale = 0;
    if (!t.is_object()) return bad(where + " is not an object");
    TRTN_TRY(json::get_string(t, "name", where, &d.name));
    where = "tensor '" + d.name + "'";
    TRTN_TRY(dims_of(t, where, &d.dims, &d.volume));
    if (t.has("rows")) {
      TRTN_TRY(json::get_int(t, "rows", where, &d.rows));
      // batch x rows is a node's batch (an int): it must fit.
      if (d.rows < 1 || d.rows > INT32_MAX / g.max_batch || d.volume > kMaxVolume / d.rows) {
        return bad(where + ": rows must be >= 1, leave maxBatchSize x rows below 2^31 and the image countable");
      }
    }
    TRTN_TRY(json::opt_string(t, "dtype", where, &dtype));
    TRTN_TRY(json::opt_double(t, "scale", where, &scale));
    if (dtype == "int8") {
      d.dtype = DType::kInt8;
      if (!(scale > 0) || !std::isfinite(scale)) return bad(where + ": an int8 tensor needs a scale > 0");
    } else if (dtype == "uint8") {
      d.dtype = DType::kUInt8;
    } else if (dtype != "float32") {
      return bad(where + ": unknown dtype '" + dtype + "'");
    }
    d.host = d.dtype;
    std::string host;
    TRTN_TRY(json::opt_string(t, "hostDtype", where, &host));
    if (host == "float16" && d.dtype == DType::kFloat32) {
      d.host = DType::kFloat16;
    } else if (!host.empty() && host != dtype) {
      return bad(where + ": hostDtype '" + host + "' does not go with dtype '" + dtype +
                 "' (float16 goes with float32)");
    }
    d.scale = static_cast<float>(scale);
    g.tensors.push_back(std::move(d));
  }
  const int64_t nt = static_cast<int64_t>(g.tensors.size());

  const json::Value* weights = root.get("weights");
  if (weights == nullptr || !weights->is_array()) return bad("'weights' must be a list");
  for (size_t i = 0; i < weights->items().size(); ++i) {
    const json::Value& w = weights->items()[i];
    WeightDesc d;
    std::string where = "weight " + std::to_string(i);
    TRTN_TRY(json::get_string(w, "name", where, &d.name));
    TRTN_TRY(dims_of(w, "weight '" + d.name + "'", &d.dims, &d.volume));
    g.weights.push_back(std::move(d));
  }
  const int64_t nw = static_cast<int64_t>(g.weights.size());

  TRTN_TRY(ids(root, "inputs", "graph", nt, &g.inputs));
  TRTN_TRY(ids(root, "outputs", "graph", nt, &g.outputs));
  if (g.inputs.empty() || g.outputs.empty()) return bad("a graph needs inputs and outputs");

  std::vector<bool> written(g.tensors.size(), false);
  for (int id : g.inputs) {
    if (written[id]) return bad("input '" + g.tensors[id].name + "' is listed twice");
    if (g.tensors[id].dtype == DType::kInt8) return bad("input '" + g.tensors[id].name + "' must be float32 or uint8");
    written[id] = true;
  }
  const json::Value* nodes = root.get("nodes");
  if (nodes == nullptr || !nodes->is_array()) return bad("'nodes' must be a list");
  for (size_t i = 0; i < nodes->items().size(); ++i) {
    const json::Value& n = nodes->items()[i];
    Node node;
    std::string where = "node " + std::to_string(i);
    TRTN_TRY(json::get_string(n, "name", where, &node.name));
    where = "node '" + node.name + "'";
    TRTN_TRY(json::get_string(n, "op", where, &node.op));
    if (!op_kind_of(node.op, &node.kind)) return bad(where + ": unknown op '" + node.op + "'");
    TRTN_TRY(ids(n, "inputs", where, nt, &node.inputs));
    TRTN_TRY(ids(n, "outputs", where, nt, &node.outputs));
    TRTN_TRY(ids(n, "weights", where, nw, &node.weights));
    std::string p;
    TRTN_TRY(json::get_string(n, "precision", where, &p));
    TRTN_TRY(parse_precision(p, &node.precision));
    if (const json::Value* a = n.get("attrs")) {
      if (!a->is_object()) return bad(where + ": attrs must be an object");
      node.attrs = *a;
    } else {
      node.attrs.set_kind(json::Value::Kind::kObject);
    }
    if (const json::Value* f = n.get("fold")) {
      if (!f->is_array()) return bad(where + ": fold must be a list");
      for (const json::Value& item : f->items()) {
        Fold fold;
        TRTN_TRY(json::get_string(item, "type", where + " fold", &fold.type));
        if (fold.type != "BatchNorm" && fold.type != "Scale" && fold.type != "Bias") {
          return bad(where + ": cannot fold a " + fold.type);
        }
        TRTN_TRY(json::opt_string(item, "layer", where + " fold", &fold.layer));
        TRTN_TRY(json::opt_double(item, "eps", where + " fold", &fold.eps));
        TRTN_TRY(json::opt_bool(item, "biasTerm", where + " fold", &fold.bias_term));
        TRTN_TRY(ids(item, "weights", where + " fold", nw, &fold.weights));
        node.fold.push_back(std::move(fold));
      }
    }
    if (const json::Value* a = n.get("activation")) {
      std::string type;
      double slope = 0;
      TRTN_TRY(json::get_string(*a, "type", where + " activation", &type));
      if (type != "ReLU") return bad(where + ": cannot fuse a " + type);
      TRTN_TRY(json::opt_double(*a, "negativeSlope", where + " activation", &slope));
      node.activation.relu = true;
      node.activation.negative_slope = static_cast<float>(slope);
    }
    for (int id : node.inputs) {
      if (!written[id]) return bad(where + " reads '" + g.tensors[id].name + "' before any node writes it");
      if (g.tensors[id].dtype == DType::kUInt8 && node.kind != OpKind::kPreprocess) {
        return bad(where + " reads '" + g.tensors[id].name + "': only a Preprocess node reads uint8 image bytes");
      }
    }
    // Rows: a node runs on batch x its first input's rows, so every tensor it touches must have
    // those rows; only the region layers turn image tensors into region tensors (their readers
    // check the rest).
    const bool region_op =
        node.kind == OpKind::kROIPooling || node.kind == OpKind::kPSROIPooling || node.kind == OpKind::kProposal;
    if (!region_op) {
      const int64_t rows = node_rows(g, node);
      for (const std::vector<int>* list : {&node.inputs, &node.outputs}) {
        for (int id : *list) {
          if (g.tensors[id].rows != rows) return bad(where + ": its tensors have different rows per image");
        }
      }
    }
    for (int id : node.outputs) {
      if (written[id]) return bad(where + " writes '" + g.tensors[id].name + "', which is already written");
      if (g.tensors[id].dtype == DType::kUInt8)
        return bad(where + " writes '" + g.tensors[id].name + "': uint8 is an input form only");
      written[id] = true;
    }
    if (node.kind == OpKind::kPooling && node.outputs.size() == 2) g.tensors[node.outputs[1]].indices = true;
    g.nodes.push_back(std::move(node));
  }
  for (size_t id = 0; id < g.tensors.size(); ++id) {
    const bool io = std::find(g.inputs.begin(), g.inputs.end(), static_cast<int>(id)) != g.inputs.end() ||
                    std::find(g.outputs.begin(), g.outputs.end(), static_cast<int>(id)) != g.outputs.end();
    if (g.tensors[id].host != g.tensors[id].dtype && !io) {
      return bad("tensor '" + g.tensors[id].name + "': a hostDtype is for graph inputs and outputs only");
    }
  }
  for (int id : g.outputs) {
    if (!written[id]) return bad("output '" + g.tensors[id].name + "' is never written");
    if (g.tensors[id].dtype != DType::kFloat32) return bad("output '" + g.tensors[id].name + "' must be float32");
  }
  *out = std::move(g);
  return Status::ok();
}

Status write_node_graph(const Graph& graph, const Node& node, std::string* out) {
  if (!node.fold.empty())
    return Status(Code::kInternal,
                  "execution graph: node '" + node.name + "' has folded layers: it cannot stand alone");
  // Tensor ids of the new graph: the node's inputs first (a tensor read twice listed once), then
  // its outputs.
  std::vector<int> tensors;
  auto local = [&](int id) {
    const auto it = std::find(tensors.begin(), tensors.end(), id);
    if (it != tensors.end()) return static_cast<int>(it - tensors.begin());
    tensors.push_back(id);
    return static_cast<int>(tensors.size() - 1);
  };
  std::vector<int> node_inputs, node_outputs, inputs, outputs;
  for (int id : node.inputs) node_inputs.push_back(local(id));
  for (size_t i = 0; i < tensors.size(); ++i) inputs.push_back(static_cast<int>(i));
  for (int id : node.outputs) node_outputs.push_back(local(id));
  for (size_t i = inputs.size(); i < tensors.size(); ++i) outputs.push_back(static_cast<int>(i));
  json::Writer w;
  auto list = [&w](const char* key, const auto& v) {
    w.key(key).begin_array();
    for (auto x : v) w.number(x);
    w.end_array();
  };
  w.begin_object().key("format").number(1).key("name").string(node.name);
  w.key("precision").string("fp32").key("maxBatchSize").number(graph.max_batch);
  w.key("tensors").begin_array();
  for (int id : tensors) {
    const TensorDesc& t = graph.tensors[id];
    w.begin_object().key("name").string(t.name);
    list("dims", t.dims);
    if (t.rows != 1) w.key("rows").number(t.rows);
    w.end_object();
  }
  w.end_array().key("weights").begin_array();
  std::vector<int> weights;
  for (int id : node.weights) {
    const WeightDesc& d = graph.weights[id];
    weights.push_back(static_cast<int>(weights.size()));
    w.begin_object().key("name").string(d.name);
    list("dims", d.dims);
    w.end_object();
  }
  w.end_array();
  list("inputs", inputs);
  list("outputs", outputs);
  w.key("nodes").begin_array().begin_object().key("name").string(node.name).key("op").string(node.op);
  list("inputs", node_inputs);
  list("outputs", node_outputs);
  list("weights", weights);
  w.key("precision").string("fp32").key("attrs").value(node.attrs);
  if (node.activation.relu) {
    w.key("activation").begin_object().key("type").string("ReLU");
    w.key("negativeSlope").number(static_cast<double>(node.activation.negative_slope)).end_object();
  }
  w.end_object().end_array().end_object();
  return w.finish(out);
}

}  // namespace trtn
