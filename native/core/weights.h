// Prepared weights: what a backend computes with, derived once from the raw blobs and the graph
// (BatchNorm / Scale / Bias folded into GEMM weights, rounding for FP16 / TF32, per-channel INT8
// quantization). Shared by every backend, so all of them start from the same numbers; stored in
// the plan's weights section.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "core/graph.h"
#include "core/status.h"

namespace trtn {

/// One prepared blob.
struct Blob {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
  std::vector<float> f32;  // dtype float32
  std::vector<int8_t> i8;  // dtype int8
  int64_t volume() const { return volume_of(dims); }
};

/// Prepared blobs by name. GEMM nodes (Convolution, Deconvolution, InnerProduct) get
/// "<node>/weights" (float32, or int8 in INT8), "<node>/bias" (float32, one per output channel,
/// zeros when the layer has none) and in INT8 "<node>/wscale" (float32 per output channel);
/// other nodes get "<node>/<i>" for their blob i.
class WeightStore {
 public:
  /// The blob of that name, or nullptr.
  const Blob* find(const std::string& name) const;
  /// Adds or replaces a blob.
  void put(const std::string& name, Blob blob);
  const std::map<std::string, Blob>& blobs() const { return blobs_; }
  /// Bytes of all payloads.
  int64_t bytes() const;

  /// Binary form for the plan's weights section.
  void serialize(std::vector<uint8_t>* out) const;
  /// The same, streamed (straight into a plan file); the sink's failure stops it and is returned.
  Status serialize(ByteSink& sink) const;
  /// Bytes serialize() writes, counted without writing them.
  uint64_t serialized_bytes() const;
  /// Reads what serialize wrote; every size is checked against what is left. kPlanCorrupt on bad
  /// bytes (the source's own error, e.g. kIO, when a read failed).
  static Status deserialize(const uint8_t* data, size_t size, WeightStore* out);
  static Status deserialize(ByteSource& source, WeightStore* out);

 private:
  std::map<std::string, Blob> blobs_;
};

/// Prepares the weights of `graph` from raw float32 blobs (one per graph weight, in order).
/// kInvalidArgument when a blob does not match its description or a node's needs.
Status prepare_weights(const Graph& graph, const std::vector<const float*>& raw, WeightStore* out);

/// Per-output-channel INT8 quantization of a GEMM weight (docs/int8.md): scale[c] =
/// float(amax_c / 127) (1 when amax_c is 0), q = clamp(rint(w / scale[c]), -127, 127) in double.
/// `channel_axis` is 0 for [C_out, ...] weights, 1 for transposed InnerProduct weights.
void quantize_per_channel(const std::vector<float>& w, const std::vector<int64_t>& dims, int channel_axis,
                          std::vector<int8_t>* q, std::vector<float>* scale);

}  // namespace trtn
