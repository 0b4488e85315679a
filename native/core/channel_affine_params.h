// What BatchNorm, Scale and Bias nodes mean on every backend when they did not fold into a GEMM
// (Caffe's layers; float32 only, no INT8 form). All three are y = x * a[d] + b[d] with d indexing
// a block of dimensions of the input:
//   BatchNorm: d = channel (dim 1); with global statistics (blobs mean [C], variance [C], factor [1],
//              sf = factor == 0 ? 0 : 1 / factor) y = (x - mean * sf) / sqrt(var * sf + eps);
//              without them, Caffe normalises with the statistics of the batch itself.
//   Scale:     d over dims [axis, axis + numAxes): a = blob 0 (or input 1), b = blob 1 (none with
//              input 1).
//   Bias:      a = 1, b = blob 0 (or input 1).
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_init.h"

namespace trtn {

/// The broadcast of an operand over one image: outer x dim x inner elements, the operand indexed
/// by the middle one.
struct AffineLayout {
  int64_t outer = 1, dim = 1, inner = 1;
};

/// Where one operand of y = x * a + b comes from: absent, a learned blob (one value per d), or
/// the node's second input (one operand per image, so it moves with the batch).
struct AffineOperand {
  enum class Source { kNone, kBlob, kInput } source = Source::kNone;
  std::vector<float> blob;
};

/// A checked BatchNorm, Scale or Bias node.
struct ChannelAffineParams {
  enum class Kind {
    kGlobalBatchNorm,      // y = (x - mean[c]) * inv_std[c]
    kBatchStatsBatchNorm,  // the batch's own mean and biased variance per channel, then as above
    kAffine,               // Scale / Bias: y = x * a + b (a multiply, then an add: two roundings)
  } kind = Kind::kAffine;
  AffineLayout layout;
  std::vector<float> mean, inv_std;  // kGlobalBatchNorm: float32(mean * sf), float32(1 / sqrt(var * sf + eps))
  double eps = 0;                    // kBatchStatsBatchNorm
  AffineOperand scale, bias;         // kAffine
};

/// Reads and checks a BatchNorm (eps, useGlobalStats, blobs mean / variance / factor), Scale
/// (axis, numAxes, biasTerm, blobs or input 1) or Bias (axis, numAxes, blob or input 1) node.
Status read_channel_affine_params(const OpInit& init, ChannelAffineParams* out);

}  // namespace trtn
