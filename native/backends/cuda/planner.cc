// The cuda engine's planner: where every tensor lives (element type, layout, Concat slices,
// Flatten / Reshape aliases) and the activation arena, in named phases that plan_engine runs in order.
#include "backends/cuda/planner.h"

#include <algorithm>
#include <functional>

#include "backends/cuda/fusion.h"
#include "core/gemm_node.h"
#include "core/memory_plan.h"

namespace trtn::cuda {

void chw_of(const TensorDesc& d, Place* p) {
  const auto& s = d.dims;
  p->c = s.empty() ? 1 : s[0];
  if (s.size() <= 3) {
    p->h = s.size() > 1 ? s[1] : 1;
    p->w = s.size() > 2 ? s[2] : 1;
  } else {
    p->h = d.volume / std::max<int64_t>(1, p->c);
    p->w = 1;
  }
}

namespace {

bool is_graph_output(const Graph& g, int t) {
  return std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end();
}

/// What the planning phases share: who writes and reads each tensor, which nodes take views, and
/// the Concat slices found.
struct Survey {
  const Graph& g;
  bool use_views;
  std::vector<int> producer;              // per tensor: the node writing it, or -1
  std::vector<std::vector<int>> readers;  // per tensor: the nodes reading it
  std::vector<bool> views;                // per node: runs on views (channel slices, NHWC)
  std::vector<int> parent;                // per tensor: the Concat output it is written into, or -1
  std::vector<int64_t> parent_offset;     // per tensor: its first channel in that output
};

Survey survey(const Graph& g, bool use_views) {
  const size_t nt = g.tensors.size(), nn = g.nodes.size();
  Survey s{g,
           use_views,
           std::vector<int>(nt, -1),
           std::vector<std::vector<int>>(nt),
           std::vector<bool>(nn),
           std::vector<int>(nt, -1),
           std::vector<int64_t>(nt, 0)};
  for (size_t i = 0; i < nn; ++i) {
    for (int t : g.nodes[i].outputs) s.producer[t] = static_cast<int>(i);
    for (int t : g.nodes[i].inputs) s.readers[t].push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < nn; ++i) s.views[i] = use_views && op_takes_views(g, g.nodes[i]);
  return s;
}

/// Element type, INT8 scale and [C, H, W] of every tensor, each its own root. Index tensors (MAX
/// pooling masks: ENet's first reaches 131,071) stay float32 in FP16 engines.
void place_tensors(const Graph& g, EnginePlan* plan) {
  plan->places.resize(g.tensors.size());
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const TensorDesc& d = g.tensors[t];
    Place& p = plan->places[t];
    p.root = static_cast<int>(t);
    p.elem = d.dtype == DType::kInt8    ? Elem::kI8
             : d.dtype == DType::kUInt8 ? Elem::kU8
                                        : (g.precision == Precision::kFP16 && !d.indices ? Elem::kF16 : Elem::kF32);
    p.scale = d.dtype == DType::kInt8 ? d.scale : 0.0f;
    p.rows = d.rows;
    chw_of(d, &p);
  }
}

/// Whether every input of this Concat can be written in place, as a channel slice of its output.
bool concat_in_place(const Survey& s, const EnginePlan& plan, const Node& node) {
  const Place& po = plan.places[node.outputs[0]];
  bool ok = true;
  for (size_t k = 0; k < node.inputs.size() && ok; ++k) {
    const int t = node.inputs[k];
    const Place& pt = plan.places[t];
    ok = s.producer[t] >= 0 && s.views[s.producer[t]] && s.parent[t] < 0 && !is_graph_output(s.g, t) &&
         pt.elem == po.elem && pt.h == po.h && pt.w == po.w && pt.rows == po.rows &&
         (pt.elem != Elem::kI8 || pt.scale == po.scale) && std::count(node.inputs.begin(), node.inputs.end(), t) == 1;
    for (int r : s.readers[t]) ok = ok && s.views[r];
  }
  return ok;
}

/// Concats along channels whose inputs can be written in place: parent[t] = (concat output, offset).
void elide_concats(Survey* s, EnginePlan* plan) {
  for (size_t i = 0; i < s->g.nodes.size(); ++i) {
    const Node& node = s->g.nodes[i];
    if (node.op != "Concat" || !s->views[i] || node.outputs.size() != 1) continue;
    if (!concat_in_place(*s, *plan, node)) continue;
    int64_t offset = 0;
    for (int t : node.inputs) {
      s->parent[t] = node.outputs[0];
      s->parent_offset[t] = offset;
      offset += plan->places[t].c;
    }
    plan->elided[i] = true;
    ++plan->elided_concats;
  }
}

/// Roots and absolute channel offsets (nested Concats chain).
void resolve_roots(const Survey& s, EnginePlan* plan) {
  for (size_t t = 0; t < plan->places.size(); ++t) {
    int r = static_cast<int>(t);
    int64_t off = 0;
    while (s.parent[r] >= 0) {
      off += s.parent_offset[r];
      r = s.parent[r];
    }
    plan->places[t].root = r;
    plan->places[t].c_offset = off;
  }
}

/// Per root: kNHWC when every tensor inside it has rank <= 3 and every node touching one of them
/// takes views. A network input that only Quantize nodes read stays kLinear: it is then the
/// caller's float32 NCHW data itself (no staging copy), and the Quantize writes the channels-last
/// int8 tensor straight from it. uint8 image inputs are always the caller's bytes ([H, W, C],
/// kLinear); the Preprocess node reading them writes whatever layout its output has.
std::vector<bool> nhwc_roots(const Survey& s, const EnginePlan& plan) {
  const Graph& g = s.g;
  std::vector<bool> nhwc(g.tensors.size(), s.use_views);
  for (int t : g.inputs) {
    bool only_quantize = !s.readers[t].empty();
    for (int rd : s.readers[t]) only_quantize = only_quantize && g.nodes[rd].kind == OpKind::kQuantize;
    if (only_quantize || g.tensors[t].dtype == DType::kUInt8) nhwc[t] = false;
  }
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const int r = plan.places[t].root;
    if (g.tensors[t].dims.size() > 3) nhwc[r] = false;
    if (s.producer[t] >= 0 && !s.views[s.producer[t]]) nhwc[r] = false;
    for (int rd : s.readers[t]) {
      if (!s.views[rd]) nhwc[r] = false;
    }
  }
  return nhwc;
}

/// A 2-D convolution of one group: the kind of reader the stem and im2col families serve.
bool one_group_conv(const Node& node) {
  if (node.kind != OpKind::kConvolution) return false;
  const json::Value* group = node.attrs.get("group");
  return group == nullptr || (group->is_number() && group->as_number() == 1);
}

/// An image of at most 4 channels (RGB) in float16 or int8, alone in its root, that only one-group
/// convolutions read (a network's first layer): the stem family reads 4 channels a pixel, so
/// padding to 8 halves or 16 int8 would only multiply the bytes its writer (the input's reformat,
/// Quantize or Preprocess) stores and the convolution reads (2x / 4x).
bool stem_input(const Survey& s, const Place& p, size_t t) {
  if (p.c > 4 || (p.elem != Elem::kF16 && p.elem != Elem::kI8) || s.g.tensors[t].dims.size() != 3 ||
      s.readers[t].empty()) {
    return false;
  }
  for (int r : s.readers[t]) {
    if (!one_group_conv(s.g.nodes[r])) return false;
  }
  return true;
}

/// Whether a root holds only itself (no Concat slice, no merged sibling inside it).
std::vector<bool> alone_roots(const EnginePlan& plan) {
  std::vector<bool> alone(plan.places.size(), true);
  for (size_t t = 0; t < plan.places.size(); ++t) {
    if (plan.places[t].root != static_cast<int>(t)) alone[plan.places[t].root] = false;
  }
  return alone;
}

/// Per root: the channels its pixels are padded to a multiple of, or 0 for kLinear: 16 bytes of
/// the element type (the tensor-core kernels' chunks), 4 for a first layer's input (stem_input).
std::vector<int64_t> pixel_channels(const Survey& s, const EnginePlan& plan) {
  const std::vector<bool> nhwc = nhwc_roots(s, plan);
  const size_t nt = plan.places.size();
  const std::vector<bool> alone = alone_roots(plan);
  std::vector<int64_t> chunk(nt, 0);
  for (size_t t = 0; t < nt; ++t) {
    const Place& p = plan.places[t];
    if (p.root != static_cast<int>(t) || !nhwc[t]) continue;
    chunk[t] = alone[t] && stem_input(s, p, t) ? 4 : chunk_channels(p.elem);
  }
  return chunk;
}

/// Layout, padded root channels and the channels each tensor writes, from its root's chunk; a root
/// holds `lead[root]` channels of merged siblings before its own (merge_siblings).
void apply_layouts(const std::vector<int64_t>& chunk, const std::vector<int64_t>& lead, EnginePlan* plan) {
  for (size_t t = 0; t < plan->places.size(); ++t) {
    Place& p = plan->places[t];
    const int64_t span = lead[p.root] + plan->places[p.root].c;
    const int64_t c = chunk[p.root];
    p.layout = c > 0 ? Layout::kNHWC : Layout::kLinear;
    p.root_c = c > 0 ? (span + c - 1) / c * c : span;
    const bool last = p.c_offset + p.c == span;
    p.c_write = p.c + (last ? p.root_c - span : 0);
    if (c > 0 && static_cast<int>(t) == p.root) ++plan->nhwc_tensors;
  }
}

/// A convolution merge_siblings may run in a group: one input and one output (not a graph output),
/// two spatial axes, one group, runs on views, not elided.
bool merge_candidate(const Survey& s, const EnginePlan& plan, size_t i, ConvGeometry* geo) {
  static const WeightStore kNoWeights;
  const Node& n = s.g.nodes[i];
  if (n.kind != OpKind::kConvolution || n.inputs.size() != 1 || n.outputs.size() != 1 || !s.views[i] ||
      plan.elided[i] || is_graph_output(s.g, n.outputs[0])) {
    return false;
  }
  return read_conv_geometry(OpInit{s.g, n, kNoWeights, "cuda"}, false, geo).is_ok() && geo->group == 1 &&
         geo->kernel.size() == 2;
}

/// Two candidates one kernel can compute together: the same window, precision, fused activation and
/// output element type (INT8 output scales may differ: each channel has its own multipliers).
bool same_gemm(const EnginePlan& plan, const Node& a, const ConvGeometry& ga, const Node& b, const ConvGeometry& gb) {
  return ga.kernel == gb.kernel && ga.stride == gb.stride && ga.pad == gb.pad && ga.dilation == gb.dilation &&
         a.precision == b.precision && a.activation.relu == b.activation.relu &&
         a.activation.negative_slope == b.activation.negative_slope &&
         plan.places[a.outputs[0]].elem == plan.places[b.outputs[0]].elem;
}

/// Places one group of same_gemm siblings side by side in one root. Members whose output is alone in
/// its root ("plain") move; at most one whose output is the first channels of a larger root (a
/// Concat's first input) is the anchor, else the last plain member is. The anchor's root takes the
/// others as leading channels, each rounded up to the root's 16-byte chunk (so every slice starts
/// where the tensor-core kernels read), and the anchor last, so the group's channels are one range.
void merge_group(const Survey& s, const std::vector<int64_t>& chunk, const std::vector<bool>& alone,
                 const std::vector<int>& group, std::vector<int64_t>* lead, EnginePlan* plan) {
  const Graph& g = s.g;
  const int64_t want = chunk_channels(plan->places[g.nodes[group[0]].outputs[0]].elem);
  std::vector<int> plain;
  int anchor = -1;
  for (int i : group) {
    const int u = g.nodes[i].outputs[0];
    const Place& p = plan->places[u];
    if (chunk[p.root] != want || (*lead)[p.root] != 0 || plan->alias[u]) continue;
    if (p.root == u && alone[u]) {
      plain.push_back(i);
    } else if (anchor < 0 && p.root != u && p.c_offset == 0 && !is_graph_output(g, p.root)) {
      anchor = i;
    }
  }
  if (anchor < 0 && !plain.empty()) {
    anchor = plain.back();
    plain.pop_back();
  }
  if (anchor < 0 || plain.empty()) return;
  const int root = plan->places[g.nodes[anchor].outputs[0]].root;
  std::vector<int64_t> at;  // each plain member's first channel, each rounded up to the chunk
  int64_t l = 0;
  for (int i : plain) {
    at.push_back(l);
    l += (plan->places[g.nodes[i].outputs[0]].c + want - 1) / want * want;
  }
  for (Place& p : plan->places) {
    if (p.root == root) p.c_offset += l;
  }
  for (size_t k = 0; k < plain.size(); ++k) {
    Place& p = plan->places[g.nodes[plain[k]].outputs[0]];
    p.root = root;
    p.c_offset = at[k];
  }
  (*lead)[root] = l;
  std::vector<int> members = plain;
  members.push_back(anchor);
  const int runner = *std::min_element(members.begin(), members.end());
  for (int m : members) {
    if (m != runner) plan->merged_into[m] = runner;
  }
  plan->merge_members[runner] = std::move(members);
  ++plan->merges;
}

/// Sibling convolutions as one GEMM: the convolutions reading one tensor with the same window,
/// precision and activation (GoogLeNet's 1x1, 3x3_reduce and 5x5_reduce) are placed side by side
/// in one root and run by the first of them as one convolution over all their output channels: the
/// input is read once, and one grid of wider tiles replaces several narrow ones. Returns, per root,
/// the channels placed before its own.
std::vector<int64_t> merge_siblings(const Survey& s, const std::vector<int64_t>& chunk, EnginePlan* plan) {
  const Graph& g = s.g;
  std::vector<int64_t> lead(g.tensors.size(), 0);
  const std::vector<bool> alone = alone_roots(*plan);
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    std::vector<int> cand;
    std::vector<ConvGeometry> geo;
    for (int r : s.readers[t]) {
      ConvGeometry gr;
      if (merge_candidate(s, *plan, static_cast<size_t>(r), &gr)) {
        cand.push_back(r);
        geo.push_back(gr);
      }
    }
    std::vector<bool> used(cand.size(), false);
    for (size_t a = 0; a < cand.size(); ++a) {
      if (used[a]) continue;
      std::vector<int> group;
      for (size_t b = a; b < cand.size(); ++b) {
        if (used[b] || !same_gemm(*plan, g.nodes[cand[a]], geo[a], g.nodes[cand[b]], geo[b])) continue;
        used[b] = true;
        group.push_back(cand[b]);
      }
      if (group.size() >= 2) merge_group(s, chunk, alone, group, &lead, plan);
    }
  }
  return lead;
}

/// Each group's range of channels (EnginePlan::merge_span): the anchor's place widened over the
/// leading channels of its root.
void merge_spans(const Graph& g, const std::vector<int64_t>& lead, EnginePlan* plan) {
  plan->merge_span.assign(g.nodes.size(), Place{});
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const std::vector<int>& m = plan->merge_members[i];
    if (m.empty()) continue;
    Place span = plan->places[g.nodes[m.back()].outputs[0]];
    const int64_t l = lead[span.root];
    span.c_offset -= l;
    span.c += l;
    span.c_write += l;
    span.scale = 0.0f;
    plan->merge_span[i] = span;
  }
}

/// Flatten / Reshape of a whole kLinear tensor: the output is the same bytes.
void alias_reshapes(const Survey& s, EnginePlan* plan) {
  const Graph& g = s.g;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    if ((node.op != "Flatten" && node.op != "Reshape") || node.inputs.size() != 1 || node.outputs.size() != 1) continue;
    const int in = node.inputs[0], out = node.outputs[0];
    const Place& pi = plan->places[in];
    Place& po = plan->places[out];
    if (pi.layout != Layout::kLinear || po.layout != Layout::kLinear || pi.c_offset != 0 ||
        pi.root_image_elems() != g.tensors[in].volume || pi.elem != po.elem || pi.rows != po.rows ||
        s.parent[out] >= 0 || po.root != out) {
      continue;
    }
    // Anything inside `out` would need re-rooting; outputs of Flatten / Reshape are never roots of slices
    // (their producer takes no views), so `out` holds only itself.
    po.root = pi.root;
    po.root_c = po.c;
    plan->alias[out] = true;  // the alias reads the same dense bytes with its own dims
    plan->elided[i] = true;
    ++plan->aliased_reshapes;
  }
}

/// LRN and MAX pooling pairs that run as one kernel (fusion.h): the first one's output has the
/// second as its only reader, is no graph output, holds only itself, and both nodes take views. The
/// tensor between them keeps its place (an observed run writes it), which no fused run touches.
void fuse_lrn_pools(const Survey& s, EnginePlan* plan) {
  const Graph& g = s.g;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    const bool lrn_or_pool = node.kind == OpKind::kLRN || node.kind == OpKind::kPooling;
    if (!lrn_or_pool || node.outputs.size() != 1 || plan->elided[i] || !s.views[i] || plan->fused_into[i] >= 0) {
      continue;
    }
    const int t = node.outputs[0];
    if (is_graph_output(g, t) || s.readers[t].size() != 1 || plan->places[t].root != t || plan->alias[t]) continue;
    const int j = s.readers[t][0];
    const Node& next = g.nodes[j];
    if (next.kind == node.kind || plan->elided[j] || !s.views[j] || !fusable(g, node, next, plan->places)) continue;
    plan->fused_next[i] = j;
    plan->fused_into[j] = static_cast<int>(i);
    ++plan->fusions;
  }
}

/// 3x3 MAX poolings folded into the loader of the 1x1 convolution reading them (fusion.h
/// pool_conv_fusable; GoogLeNet's inception pool -> pool_proj): the pooling's output has the
/// convolution as its only reader, is no graph output, holds only itself, both nodes take views and
/// neither is in another fusion. The convolution then reads the pooling's input; the pooling runs
/// only where every tensor is observed, right before the convolution, so its output lives only
/// there.
void fuse_pool_convs(const Survey& s, EnginePlan* plan) {
  const Graph& g = s.g;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& pool = g.nodes[i];
    if (pool.kind != OpKind::kPooling || pool.outputs.size() != 1 || plan->elided[i] || !s.views[i] ||
        plan->fused_next[i] >= 0 || plan->fused_into[i] >= 0) {
      continue;
    }
    const int t = pool.outputs[0];
    if (is_graph_output(g, t) || s.readers[t].size() != 1 || plan->places[t].root != t || plan->alias[t]) continue;
    const int j = s.readers[t][0];
    if (plan->elided[j] || !s.views[j] || plan->fused_next[j] >= 0 || plan->fused_into[j] >= 0 ||
        !plan->merge_members[j].empty() || plan->merged_into[j] >= 0 ||
        !pool_conv_fusable(g, pool, g.nodes[j], plan->places)) {
      continue;
    }
    plan->pool_of[j] = static_cast<int>(i);
    plan->pooled_by[i] = j;
    ++plan->pooled_convs;
  }
}

/// Streams and memory: the schedule of the nodes that run, then one buffer per root, sharing bytes
/// only with roots whose every access the schedule orders before it is written (or after).
void place_arena(const Graph& g, int lanes, EnginePlan* plan) {
  const size_t nt = g.tensors.size();
  std::vector<bool> runs(g.nodes.size());
  for (size_t i = 0; i < runs.size(); ++i) runs[i] = !plan->elided[i];
  for (int j : plan->fused_next) {
    if (j >= 0) runs[j] = false;
  }
  for (size_t i = 0; i < runs.size(); ++i) runs[i] = runs[i] && plan->merged_into[i] < 0 && plan->pooled_by[i] < 0;
  const NodeAccess access(g, plan->fused_next, plan->merge_members, plan->pool_of);
  plan->schedule = schedule_nodes(access, plan->places, plan->alias, runs, lanes);
  const RootConflicts conflicts(g, access, plan->places, runs, plan->schedule);
  std::vector<int64_t>& size = plan->root_bytes;
  size.assign(nt, 0);
  for (size_t t = 0; t < nt; ++t) {
    if (plan->places[t].root != static_cast<int>(t)) continue;
    const Place& p = plan->places[t];
    const int64_t bytes = p.root_image_elems() * p.rows * elem_bytes(p.elem);
    size[t] = std::max<int64_t>(256, (bytes + 255) / 256 * 256);
  }
  plan->arena_per_image = place_buffers(size, std::cref(conflicts), &plan->root_offset);
}

}  // namespace

EnginePlan plan_engine(const Graph& g, bool use_views, int lanes, const PlanFusions& fusions) {
  EnginePlan plan;
  plan.elided.assign(g.nodes.size(), false);
  plan.fused_next.assign(g.nodes.size(), -1);
  plan.fused_into.assign(g.nodes.size(), -1);
  plan.merge_members.assign(g.nodes.size(), {});
  plan.merged_into.assign(g.nodes.size(), -1);
  plan.pool_of.assign(g.nodes.size(), -1);
  plan.pooled_by.assign(g.nodes.size(), -1);
  plan.alias.assign(g.tensors.size(), false);
  Survey s = survey(g, use_views);
  place_tensors(g, &plan);
  elide_concats(&s, &plan);
  resolve_roots(s, &plan);
  const std::vector<int64_t> chunk = pixel_channels(s, plan);
  const std::vector<int64_t> lead =
      fusions.merge ? merge_siblings(s, chunk, &plan) : std::vector<int64_t>(g.tensors.size(), 0);
  apply_layouts(chunk, lead, &plan);
  merge_spans(g, lead, &plan);
  alias_reshapes(s, &plan);
  if (fusions.lrn_pool) fuse_lrn_pools(s, &plan);
  if (fusions.pool_conv) fuse_pool_convs(s, &plan);
  place_arena(g, lanes, &plan);
  return plan;
}

std::string describe_plan(const Graph& g, const EnginePlan& plan) {
  static const char* kElem[] = {"f32", "f16", "i8", "u8"};
  std::string s;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const Place& p = plan.places[t];
    s += g.tensors[t].name + ": " + kElem[static_cast<int>(p.elem)] +
         (p.layout == Layout::kNHWC ? " nhwc c_pad " + std::to_string(p.root_c) : std::string(" linear")) +
         (p.rows > 1 ? " rows " + std::to_string(p.rows) : std::string());
    if (p.root != static_cast<int>(t)) {
      s += " in '" + g.tensors[p.root].name + "' at channel " + std::to_string(p.c_offset);
    }
    s += "\n";
  }
  return s;
}

}  // namespace trtn::cuda
