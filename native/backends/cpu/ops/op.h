// The cpu backend's op interface. One file per op (or family) under ops/, each exporting a
// factory `make_<op>` (one call of make<OpT>, core/op_factory.h) that checks the node and returns a
// CpuOp; ops/registry.cc is the table from OpKind to factories. Ops work in NCHW with the batch as dimension 0 of every
// tensor, on float32 or, for INT8 nodes, int8 storage (docs/int8.md is the contract for every INT8 op).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/op_factory.h"
#include "core/op_kind.h"
#include "core/op_init.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "core/weights.h"

namespace trtn::cpu {

/// What an op gets for one run: the batch, its tensors' buffers (float* or int8_t* by dtype, in
/// the node's input / output order) and the thread pool.
struct OpArgs {
  int batch;
  const std::vector<const void*>& in;
  const std::vector<void*>& out;
  ThreadPool& pool;
};

/// A ready-to-run op.
class CpuOp {
 public:
  virtual ~CpuOp() = default;
  /// Computes the outputs from the inputs. Buffers never overlap.
  virtual Status run(const OpArgs& args) const = 0;
};

/// Factory signature.
using OpFactory = Status (*)(const OpInit& init, std::unique_ptr<CpuOp>* out);

/// One op of the cpu backend's table: its factory and an optional check run before building.
struct OpEntry {
  OpFactory make = nullptr;
  SupportsFn supports = nullptr;
};

/// The cpu backend's ops, indexed by OpKind (ops/registry.cc).
const OpTable<OpEntry>& op_table();

/// Creates the op for init.node (dispatches on node.kind); kInvalidArgument for an op or precision
/// the cpu backend does not have.
Status make_op(const OpInit& init, std::unique_ptr<CpuOp>* out);

/// The one factory body (core/op_factory.h): OpT() then OpT::init(init), as a CpuOp.
template <class OpT>
Status make(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return make_op_as<OpT>(init, init, out);
}

// Factories, one per op (ops/<file>.cc).
Status make_convolution(const OpInit&, std::unique_ptr<CpuOp>*);    // conv.cc
Status make_deconvolution(const OpInit&, std::unique_ptr<CpuOp>*);  // deconv.cc
Status make_inner_product(const OpInit&, std::unique_ptr<CpuOp>*);  // inner_product.cc
Status make_pooling(const OpInit&, std::unique_ptr<CpuOp>*);        // pooling.cc
Status make_lrn(const OpInit&, std::unique_ptr<CpuOp>*);            // lrn.cc
Status make_activation(const OpInit&,
                       std::unique_ptr<CpuOp>*);              // activation.cc: ReLU, ELU, Sigmoid, TanH,
                                                              // AbsVal, Power, BNLL, Exp, Log, Threshold, Clip, Swish
Status make_prelu(const OpInit&, std::unique_ptr<CpuOp>*);    // prelu.cc
Status make_softmax(const OpInit&, std::unique_ptr<CpuOp>*);  // softmax.cc
Status make_concat(const OpInit&, std::unique_ptr<CpuOp>*);   // concat.cc
Status make_eltwise(const OpInit&, std::unique_ptr<CpuOp>*);  // eltwise.cc
Status make_channel_affine(const OpInit&, std::unique_ptr<CpuOp>*);    // channel_affine.cc: BatchNorm, Scale, Bias
Status make_reshape(const OpInit&, std::unique_ptr<CpuOp>*);           // reshape.cc: Flatten, Reshape
Status make_slice(const OpInit&, std::unique_ptr<CpuOp>*);             // slice.cc
Status make_crop(const OpInit&, std::unique_ptr<CpuOp>*);              // crop.cc
Status make_tile(const OpInit&, std::unique_ptr<CpuOp>*);              // tile.cc
Status make_shuffle_channel(const OpInit&, std::unique_ptr<CpuOp>*);   // shuffle_channel.cc
Status make_permute(const OpInit&, std::unique_ptr<CpuOp>*);           // permute.cc
Status make_normalize(const OpInit&, std::unique_ptr<CpuOp>*);         // normalize.cc
Status make_prior_box(const OpInit&, std::unique_ptr<CpuOp>*);         // prior_box.cc
Status make_detection_output(const OpInit&, std::unique_ptr<CpuOp>*);  // detection_output.cc
Status make_upsample(const OpInit&, std::unique_ptr<CpuOp>*);          // resize.cc
Status make_interp(const OpInit&, std::unique_ptr<CpuOp>*);            // resize.cc
Status make_argmax(const OpInit&, std::unique_ptr<CpuOp>*);            // argmax.cc
Status make_reduction(const OpInit&, std::unique_ptr<CpuOp>*);         // reduction.cc
Status make_mvn(const OpInit&, std::unique_ptr<CpuOp>*);               // mvn.cc
Status make_embed(const OpInit&, std::unique_ptr<CpuOp>*);             // embed.cc
Status make_plugin(const OpInit&, std::unique_ptr<CpuOp>*);            // plugin.cc
Status make_roi_pooling(const OpInit&, std::unique_ptr<CpuOp>*);       // roi.cc
Status make_psroi_pooling(const OpInit&, std::unique_ptr<CpuOp>*);     // roi.cc
Status make_proposal(const OpInit&, std::unique_ptr<CpuOp>*);          // roi.cc
Status make_quantize(const OpInit&, std::unique_ptr<CpuOp>*);          // quantize.cc
Status make_preprocess(const OpInit&, std::unique_ptr<CpuOp>*);        // preprocess.cc

}  // namespace trtn::cpu
