// The one list of ops the execution graph may hold (TRTN_OPS), and the typed OpKind it gives.
// graph.cc resolves each node's op name to its OpKind once, when the graph is read; every
// backend's op table (OpTable) is indexed by it. Adding an op starts with a line here
// (docs/engine.md, "Adding an op").
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace trtn {

/// X(name) for every op, in the order of OpKind. The names are the execution graph's op names
/// (lib/runtime/graph_format.ts EXEC_OPS lists the same, test/unit/op_vocabulary checks both ways).
// clang-format off
#define TRTN_OPS(X)                                                                                           \
  X(Convolution) X(Deconvolution) X(InnerProduct) X(Pooling) X(LRN)                                            \
  X(ReLU) X(ELU) X(Sigmoid) X(TanH) X(AbsVal) X(Power) X(BNLL) X(Exp) X(Log) X(Threshold) X(Clip) X(Swish)      \
  X(PReLU) X(Softmax) X(Concat) X(Eltwise) X(BatchNorm) X(Scale) X(Bias) X(Flatten) X(Reshape) X(Slice)         \
  X(Crop) X(Tile) X(ShuffleChannel) X(Permute) X(Normalize) X(PriorBox) X(DetectionOutput) X(Upsample) X(Interp) X(ArgMax) X(Reduction)        \
  X(MVN) X(Embed) X(Plugin) X(ROIPooling) X(PSROIPooling) X(Proposal) X(Quantize) X(Preprocess)
// clang-format on

/// One op of TRTN_OPS: OpKind::kConvolution ... OpKind::kPreprocess.
enum class OpKind : int {
#define TRTN_OP_ENUM(name) k##name,
  TRTN_OPS(TRTN_OP_ENUM)
#undef TRTN_OP_ENUM
};

/// Op families one op class serves in the cpu and cuda backends (one parameters reader each).
constexpr OpKind kActivationOps[] = {OpKind::kReLU,   OpKind::kELU,       OpKind::kSigmoid, OpKind::kTanH,
                                     OpKind::kAbsVal, OpKind::kPower,     OpKind::kBNLL,    OpKind::kExp,
                                     OpKind::kLog,    OpKind::kThreshold, OpKind::kClip,    OpKind::kSwish};
constexpr OpKind kChannelAffineOps[] = {OpKind::kBatchNorm, OpKind::kScale, OpKind::kBias};
constexpr OpKind kReshapeOps[] = {OpKind::kFlatten, OpKind::kReshape};

/// How many ops TRTN_OPS lists.
constexpr size_t kOpKindCount = 0
#define TRTN_OP_COUNT(name) +1
    TRTN_OPS(TRTN_OP_COUNT)
#undef TRTN_OP_COUNT
    ;

/// The op's graph name ("Convolution").
const char* op_name(OpKind kind);

/// The OpKind of a graph op name; false for a name TRTN_OPS does not list.
bool op_kind_of(const std::string& name, OpKind* out);

/// Every op name, in OpKind order.
std::vector<std::string> op_names();

/// A backend's per-op entries, indexed by OpKind; entries not set are value-initialised (null
/// function pointers: the backend does not have that op).
template <class Entry>
class OpTable {
 public:
  Entry& operator[](OpKind k) { return entries_[static_cast<size_t>(k)]; }
  const Entry& operator[](OpKind k) const { return entries_[static_cast<size_t>(k)]; }
  /// Names of the ops whose entry has a factory (Entry::make), in OpKind order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < kOpKindCount; ++i) {
      if (entries_[i].make != nullptr) out.push_back(op_name(static_cast<OpKind>(i)));
    }
    return out;
  }

 private:
  std::array<Entry, kOpKindCount> entries_{};
};

}  // namespace trtn
