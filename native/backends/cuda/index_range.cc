#include "backends/cuda/index_range.h"

#include <algorithm>
#include <climits>
#include <cstdio>

#include "core/op_init.h"
#include "core/softmax_params.h"
#include "core/weights.h"

namespace trtn::cuda {
namespace {

/// conv.cu's per-launch refusal: M > INT_MAX - 256.
constexpr int64_t kGemmRows = int64_t{INT_MAX} - 256;
/// The smallest tile side (rows or channels) of every implicit-GEMM configuration offered.
constexpr int64_t kSmallestTile = 32;

/// A node's limit: `per_image` items per image, at most `bound` items per launch.
struct NodeBound {
  int64_t per_image = 0;
  int64_t bound = 0;
  const char* items = "";
};

/// The bound of one node, or per_image 0 when the batch does not bound it. Nodes the cuda ops will
/// reject anyway (bad attributes) are left to them.
NodeBound bound_of(const Graph& g, const Node& node) {
  NodeBound b;
  if (node.outputs.empty()) return b;
  const TensorDesc& out = g.tensors[node.outputs[0]];
  if (out.dims.empty()) return b;
  static const WeightStore kNoWeights;
  const OpInit init{g, node, kNoWeights, "cuda"};
  if (node.kind == OpKind::kConvolution) {
    // Output [C, spatial...]: 1 or 2 spatial axes run the GEMM kernels; more run conv_direct.cu,
    // which indexes in 64 bits.
    if (out.dims.size() > 3) return b;
    int64_t group = 1;
    if (node.attrs.has("group") && !init.attr_int("group", &group).is_ok()) return b;
    b.per_image = out.volume / out.dims[0];
    b.bound = gemm_row_bound(out.dims[0] / std::max<int64_t>(1, group));
    b.items = "GEMM rows";
  } else if (node.kind == OpKind::kInnerProduct) {
    // Rows per image: the dimensions before the axis (1 for the usual axis 1).
    b.per_image = out.volume / out.dims.back();
    b.bound = gemm_row_bound(out.dims.back());
    b.items = "GEMM rows";
  } else if (node.kind == OpKind::kSoftmax) {
    // softmax.cu sees a dense tensor as [batch x outer, channels, inner] in one View4 (make_softmax
    // refuses batch x outer >= 2^31); axis 0 (over the batch) and axis 1 (outer 1) are unbounded.
    SoftmaxParams p;
    if (!read_softmax_params(init, &p).is_ok() || p.over_batch || p.outer <= 1) return b;
    b.per_image = p.outer;
    b.bound = INT_MAX;
    b.items = "softmax rows";
  }
  b.per_image *= out.rows;  // a node over region tensors runs on batch x rows items
  return b;
}

/// 123456, or 2.51e9 from a million on.
std::string short_number(double v) {
  char buf[32];
  if (v < 1e6) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  int exp = 0;
  while (v >= 10) {
    v /= 10;
    ++exp;
  }
  std::snprintf(buf, sizeof buf, "%.3ge%d", v, exp);
  return buf;
}

}  // namespace

int64_t gemm_row_bound(int64_t ng) {
  const int64_t n_tiles = std::max<int64_t>(1, (ng + kSmallestTile - 1) / kSmallestTile);
  return std::min(kGemmRows, INT_MAX / n_tiles * kSmallestTile);
}

IndexRange index_range(const Graph& graph) {
  IndexRange r;
  for (const Node& node : graph.nodes) {
    const NodeBound b = bound_of(graph, node);
    if (b.per_image <= 0) continue;
    const int64_t limit = b.bound / b.per_image;
    if (limit >= r.max_batch) continue;
    r.max_batch = limit;
    r.node = node.name;
    r.items = b.items;
    r.per_image = b.per_image;
    r.bound = b.bound;
    r.bound_text = b.bound == kGemmRows ? "2^31 - 257" : b.bound == INT_MAX ? "2^31 - 1" : std::to_string(b.bound);
  }
  return r;
}

Status check_index_range(const IndexRange& range, int64_t batch, const char* what) {
  if (batch <= range.max_batch) return Status::ok();
  if (range.node.empty()) {
    return Status(Code::kInvalidArgument, std::string(what) + " " + std::to_string(batch) +
                                              " is beyond 2^31 - 1, the largest batch of any engine");
  }
  const double items = static_cast<double>(batch) * static_cast<double>(range.per_image);
  return Status(Code::kInvalidArgument,
                std::string(what) + " " + std::to_string(batch) + " is beyond what layer '" + range.node +
                    "' can index with 32-bit offsets (" + std::to_string(batch) + " x " +
                    std::to_string(range.per_image) + " = " + short_number(items) + " " + range.items + " > " +
                    range.bound_text + "); the largest batch this engine runs is " + std::to_string(range.max_batch));
}

}  // namespace trtn::cuda
