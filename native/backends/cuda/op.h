// The cuda backend's op interface: one file per op (or family) under kernels/, holding the
// kernels, their launchers and a CudaOp made by a factory `make_<op>` (one call of make<OpT>,
// core/op_factory.h); kernels/registry.cc is the table from OpKind to factories. Ops are created once per engine on the
// engine's device: they check the node, upload what they need (weights in the layout their kernels read) and may offer
// several tactics (kernel variants) for the builder to time. run() only enqueues work on the stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gpu/cuda_check.h"
#include "backends/cuda/format.h"
#include "core/op_factory.h"
#include "core/op_init.h"
#include "core/op_kind.h"

namespace trtn::cuda {

// The shared GPU utilities (native/gpu/), as the cuda backend's own names.
using gpu::cuda_status;
using gpu::DeviceBuffer;
using gpu::memory_report;
using gpu::PinnedAllocator;
using gpu::PinnedBuffer;
using gpu::select_device;

/// Where a tensor lives, fixed when the engine is planned (see format.h).
struct Place {
  int root = -1;  // the tensor owning the memory (itself unless a slice)
  Elem elem = Elem::kF32;
  Layout layout = Layout::kLinear;
  int64_t c = 1, h = 1, w = 1;  // this tensor as [C, H, W] (rank > 3: c = dims[0], h = the rest, w = 1)
  int64_t root_c = 1;           // channels of the root (kLinear) or its padded channel stride (kNHWC)
  int64_t c_offset = 0;         // first channel of this tensor inside its root
  int64_t c_write = 1;          // channels a producer writes (c, plus the root's padding when last)
  float scale = 0.0f;           // int8 tensors
  int64_t rows = 1;             // region tensors: rows per image (the view's n is batch x rows)

  /// Elements of one image (region tensors: of one row) of the root.
  int64_t root_image_elems() const { return root_c * h * w; }
  /// The view of `batch` images (batch x rows items) given the root's device address.
  View4 view(void* root_base, int batch) const;
};

/// Properties of the engine's GPU that ops choose kernels by.
struct DeviceProps {
  int index = 0;
  int sm = 0;  // compute capability as 10 * major + minor (90 for H100)
  int multiprocessors = 0;
  size_t shared_per_block_optin = 0;
};

/// What a cuda factory sees: the node (OpInit, backend "cuda"), where every tensor lives, the GPU.
struct CudaOpInit {
  OpInit node;
  const std::vector<Place>& places;  // per graph tensor
  const DeviceProps& device;

  const Place& in_place(size_t i) const { return places[node.node.inputs[i]]; }
  const Place& out_place(size_t i) const { return places[node.node.outputs[i]]; }
  /// The largest batch a run of this node gets: maxBatchSize x its rows (region tensors).
  int64_t max_run_batch() const {
    return static_cast<int64_t>(node.graph.max_batch) * node_rows(node.graph, node.node);
  }
};

/// What one run of an op gets: views of its inputs and outputs at this batch, the stream, and
/// workspace_bytes(batch) bytes of scratch device memory.
struct RunArgs {
  int batch;
  const std::vector<View4>& in;
  const std::vector<View4>& out;
  cudaStream_t stream;
  void* workspace;
};

/// A ready-to-run op.
class CudaOp {
 public:
  virtual ~CudaOp() = default;
  /// Enqueues the op on args.stream; returns launch errors (kCuda).
  virtual Status run(const RunArgs& args) const = 0;
  /// Scratch device memory a run at `batch` needs with the selected tactic.
  virtual size_t workspace_bytes(int /*batch*/) const { return 0; }
  /// The most any tactic needs (what the builder reserves while it times them all).
  virtual size_t max_workspace_bytes(int batch) const { return workspace_bytes(batch); }

  // Tactics: kernel variants the builder times on the GPU to keep the fastest (TensorRT's
  // builder does the same). An op with one tactic is not timed.
  virtual int tactic_count() const { return 1; }
  virtual std::string tactic_name(int /*i*/) const { return "default"; }
  /// Selects tactic i for later runs.
  virtual Status set_tactic(int /*i*/) { return Status::ok(); }
  virtual int tactic() const { return 0; }
  /// What decides the best tactic (shapes, precision, layout), for the timing cache; "" when
  /// there is nothing to choose.
  virtual std::string signature() const { return ""; }
};

/// Factory signature.
using OpFactory = Status (*)(const CudaOpInit& init, std::unique_ptr<CudaOp>* out);

/// Whether an op's kernels take any View4 for this node (kNHWC, slices) or need whole kLinear tensors.
using TakesViewsFn = bool (*)(const Graph& graph, const Node& node);

/// One op of the cuda backend's table: its factory, an optional check run before building, and
/// whether its kernels take views (nullptr: never).
struct OpEntry {
  OpFactory make = nullptr;
  SupportsFn supports = nullptr;
  TakesViewsFn takes_views = nullptr;
};

/// The cuda backend's ops, indexed by OpKind (kernels/registry.cc).
const OpTable<OpEntry>& op_table();

/// Creates the op for init.node (dispatches on node.kind).
Status make_op(const CudaOpInit& init, std::unique_ptr<CudaOp>* out);

/// The one factory body (core/op_factory.h): OpT() then OpT::init(init), as a CudaOp.
template <class OpT>
Status make(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make_op_as<OpT>(init, init.node, out);
}

/// Ops whose kernels take any View4 (kNHWC, slices); the others need whole kLinear tensors.
bool op_takes_views(const Graph& graph, const Node& node);

// Factories, one per op (kernels/<file>.cu).
Status make_convolution(const CudaOpInit&, std::unique_ptr<CudaOp>*);       // conv.cu (+ InnerProduct)
Status make_inner_product(const CudaOpInit&, std::unique_ptr<CudaOp>*);     // conv.cu
Status make_deconvolution(const CudaOpInit&, std::unique_ptr<CudaOp>*);     // deconv.cu
Status make_pooling(const CudaOpInit&, std::unique_ptr<CudaOp>*);           // pooling.cu
Status make_lrn(const CudaOpInit&, std::unique_ptr<CudaOp>*);               // lrn.cu
Status make_activation(const CudaOpInit&, std::unique_ptr<CudaOp>*);        // activation.cu (ReLU ... Swish)
Status make_prelu(const CudaOpInit&, std::unique_ptr<CudaOp>*);             // prelu.cu
Status make_softmax(const CudaOpInit&, std::unique_ptr<CudaOp>*);           // softmax.cu
Status make_concat(const CudaOpInit&, std::unique_ptr<CudaOp>*);            // concat.cu
Status make_eltwise(const CudaOpInit&, std::unique_ptr<CudaOp>*);           // eltwise.cu
Status make_channel_affine(const CudaOpInit&, std::unique_ptr<CudaOp>*);    // channel_affine.cu
Status make_reshape(const CudaOpInit&, std::unique_ptr<CudaOp>*);           // reshape.cu (Flatten, Reshape)
Status make_slice(const CudaOpInit&, std::unique_ptr<CudaOp>*);             // slice.cu
Status make_crop(const CudaOpInit&, std::unique_ptr<CudaOp>*);              // crop.cu
Status make_tile(const CudaOpInit&, std::unique_ptr<CudaOp>*);              // tile.cu
Status make_shuffle_channel(const CudaOpInit&, std::unique_ptr<CudaOp>*);   // shuffle_channel.cu
Status make_permute(const CudaOpInit&, std::unique_ptr<CudaOp>*);           // permute.cu
Status make_normalize(const CudaOpInit&, std::unique_ptr<CudaOp>*);         // normalize.cu
Status make_prior_box(const CudaOpInit&, std::unique_ptr<CudaOp>*);         // prior_box.cu
Status make_detection_output(const CudaOpInit&, std::unique_ptr<CudaOp>*);  // detection_output.cu
Status make_resize(const CudaOpInit&, std::unique_ptr<CudaOp>*);            // resize.cu (Upsample, Interp)
Status make_argmax(const CudaOpInit&, std::unique_ptr<CudaOp>*);            // argmax.cu
Status make_reduction(const CudaOpInit&, std::unique_ptr<CudaOp>*);         // reduction.cu
Status make_mvn(const CudaOpInit&, std::unique_ptr<CudaOp>*);               // mvn.cu
Status make_embed(const CudaOpInit&, std::unique_ptr<CudaOp>*);             // embed.cu
Status make_plugin(const CudaOpInit&, std::unique_ptr<CudaOp>*);            // plugin.cu
Status make_roi_pooling(const CudaOpInit&, std::unique_ptr<CudaOp>*);       // region.cu
Status make_psroi_pooling(const CudaOpInit&, std::unique_ptr<CudaOp>*);     // region.cu
Status make_proposal(const CudaOpInit&, std::unique_ptr<CudaOp>*);          // region.cu
Status make_quantize(const CudaOpInit&, std::unique_ptr<CudaOp>*);          // quantize.cu
Status make_preprocess(const CudaOpInit&, std::unique_ptr<CudaOp>*);        // preprocess.cu
/// An LRN and the MAX pooling reading it, or a MAX pooling and the LRN reading it, as one op (fusion.h;
/// lrn_pool.cu): runs on the first node's input views and the second node's output views.
Status make_lrn_pool(const CudaOpInit& first, const CudaOpInit& second, std::unique_ptr<CudaOp>* out);
/// A 1x1 convolution that MAX-pools (3x3, stride 1, pad 1) its input in its loader (planner.h
/// EnginePlan::pool_of): reads the pooling's input, at `pooled` (conv.cu, conv_mma.cu's POOL kernels).
Status make_pooled_convolution(const CudaOpInit& conv, const Place& pooled, std::unique_ptr<CudaOp>* out);
/// Sibling convolutions (planner.h EnginePlan::merge_members, in channel order) as one convolution
/// over all their output channels: runs on the first member's input view and the group's `span`
/// (EnginePlan::merge_span) as its output view (conv.cu).
Status make_merged_convolution(const std::vector<CudaOpInit>& members, const Place& span, std::unique_ptr<CudaOp>* out);

/// Copies (and converts) between two views of the same [N, C, H, W]: element type, layout,
/// padding (zeros written for [c, c_write) of the destination). Used for graph inputs and outputs,
/// Concats that cannot be elided and observation. kernels/reformat.cu.
Status launch_reformat(const View4& src, const View4& dst, cudaStream_t stream);
/// The same walk with docs/int8.md's Quantize on each value: float32 / float16 `src` to int8 `dst`,
/// q = saturate(x / scale). kernels/reformat.cu.
Status launch_quantize(const View4& src, const View4& dst, float scale, cudaStream_t stream);

/// Copies `count` elements of a kLinear tensor converting the element type (f32 <-> f16, or a
/// plain copy). kernels/reformat.cu.
Status launch_convert(const void* src, Elem src_elem, void* dst, Elem dst_elem, int64_t count, cudaStream_t stream);

}  // namespace trtn::cuda
