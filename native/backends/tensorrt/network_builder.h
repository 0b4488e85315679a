// The tensorrt backend's use of the real TensorRT C++ API (10.x and 11.x): a NetworkPlan from
// mapping.h replayed call by call on an INetworkDefinition, built into a serialized engine, and
// the engine run with enqueueV3 on a caller's stream. Compiled only where TensorRT's headers are
// found (scripts/check-tensorrt.sh, and the separately loaded tensorrt module of issue 7); the
// main addon never includes this header.
#pragma once

#include <NvInfer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/tensorrt/mapping.h"
#include "core/status.h"
#include "core/weights.h"

namespace trtn::tensorrt {

/// Builds the serialized engine of `plan`, its weights taken from `store`, with one optimization
/// profile of batch 1..plan.max_batch. kBackendUnavailable when TensorRT cannot create a builder;
/// kUnsupportedLayer naming the layer when TensorRT refuses a call; kInternal for a plan that
/// asks for a method this file does not know.
Status build_serialized_engine(const NetworkPlan& plan, const WeightStore& store, nvinfer1::ILogger& logger,
                               std::vector<uint8_t>* out);

/// A deserialized engine and the names of its I/O tensors (graph order).
class TrtEngine {
 public:
  /// Deserializes `bytes`; kPlanCorrupt when TensorRT rejects them.
  static Status load(const std::vector<uint8_t>& bytes, nvinfer1::ILogger& logger, std::unique_ptr<TrtEngine>* out);
  ~TrtEngine();

  /// Runs `batch` images on `stream`: inputs and outputs are device buffers in the engine's I/O
  /// order (inputs first), float32, batch-major. kInvalidArgument for a batch outside the profile.
  Status enqueue(int batch, const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                 cudaStream_t stream);

  const std::vector<std::string>& input_names() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return outputs_; }

 private:
  TrtEngine() = default;
  nvinfer1::IRuntime* runtime_ = nullptr;
  nvinfer1::ICudaEngine* engine_ = nullptr;
  nvinfer1::IExecutionContext* context_ = nullptr;
  std::vector<std::string> inputs_, outputs_;
};

}  // namespace trtn::tensorrt
