// Kernel fusions of the cuda backend that change which memory a node touches, so the planner
// decides them before the schedule and the arena (planner.cc): an LRN across channels and a MAX
// pooling, one the only reader of the other's output, run in one kernel that reads the first one's
// input once and writes only the second one's output (kernels/lrn_pool.cu):
//   LRN -> pooling: AlexNet's norm1 -> pool1 and norm2 -> pool2, GoogLeNet's conv2/norm2 -> pool2;
//   pooling -> LRN: GoogLeNet's pool1/3x3_s2 -> pool1/norm1.
// Also a 3x3 MAX pooling folded into the loader of the 1x1 convolution reading it (GoogLeNet's
// inception pool -> pool_proj; pool_conv_fusable). Host-only, so the planner harness tests it.
#pragma once

#include <vector>

#include "core/graph.h"

namespace trtn::cuda {

struct Place;

/// The largest pooling window the fused kernels take (per axis), and the largest (size - 1) / 2 of
/// the LRN (lrn.cuh's pixel kernels).
constexpr int kFusedMaxKernel = 8;
constexpr int kFusedMaxHalf = 4;
/// Pooling -> LRN keeps every channel of its tile's pixels in shared memory: at most this many.
constexpr int kPoolLrnMaxChannels = 512;

/// Whether `first` and `second` (an LRN and the MAX pooling reading only its output, or a MAX
/// pooling and the LRN reading only its output) run as one kernel with these places: LRN across
/// channels with at most 9 channels a window; MAX pooling without a mask, kernel <= kFusedMaxKernel
/// (LRN -> pooling: stride <= kernel, so every LRN value computed is read; pooling -> LRN: at most
/// kPoolLrnMaxChannels channels); every tensor channels-last of one image row; the tensor between
/// them stored as the first one's input is (the pooling passes int8 through with its scale) or, for
/// LRN -> pooling, float after an int8 LRN input. The graph-level conditions (one reader, not a
/// graph output) are the planner's.
bool fusable(const Graph& g, const Node& first, const Node& second, const std::vector<Place>& places);

/// Whether `conv` (a Convolution reading only `pool`'s output) can MAX-pool its input in its loader
/// (conv_mma.cu's POOL kernels) with these places: `pool` MAX 3x3, stride 1, pad 1, no mask, its
/// input and output channels-last of one image row in one element type (int8: one scale), the
/// input's channels whole 16-byte chunks from a chunk boundary; `conv` 1x1, stride 1, no padding,
/// one group, one input, FP16 / INT8 / TF32 (the tensor-core arithmetics). The graph-level
/// conditions (one reader, not a graph output) are the planner's.
bool pool_conv_fusable(const Graph& g, const Node& pool, const Node& conv, const std::vector<Place>& places);

}  // namespace trtn::cuda
