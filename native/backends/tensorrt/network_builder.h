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

class TrtContext;

/// A deserialized engine and the names of its I/O tensors (graph order after order_io).
class TrtEngine {
 public:
  /// Deserializes `bytes`; kPlanCorrupt when TensorRT rejects them.
  static Status load(const std::vector<uint8_t>& bytes, nvinfer1::ILogger& logger, std::unique_ptr<TrtEngine>* out);
  ~TrtEngine();

  /// Puts the I/O names in the graph's order; kPlanCorrupt when the engine's I/O tensors are not
  /// exactly these.
  Status order_io(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs);
  /// A new execution context; kOutOfMemory when TensorRT cannot make one.
  Status create_context(std::unique_ptr<TrtContext>* out) const;
  /// Device memory one context needs (getDeviceMemorySizeV2).
  int64_t device_memory_bytes() const;

  const std::vector<std::string>& input_names() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return outputs_; }

 private:
  friend class TrtContext;
  TrtEngine() = default;
  nvinfer1::IRuntime* runtime_ = nullptr;
  nvinfer1::ICudaEngine* engine_ = nullptr;
  std::vector<std::string> inputs_, outputs_;
};

/// One execution context of a TrtEngine (which must outlive it).
class TrtContext {
 public:
  ~TrtContext();

  /// Runs `batch` images on `stream`: inputs and outputs are device buffers in the engine's I/O
  /// order (inputs first), float32, batch-major. kInvalidArgument for a batch outside the profile.
  Status enqueue(int batch, const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                 cudaStream_t stream);

 private:
  friend class TrtEngine;
  TrtContext(const TrtEngine& engine, nvinfer1::IExecutionContext* context) : engine_(engine), context_(context) {}
  const TrtEngine& engine_;
  nvinfer1::IExecutionContext* context_;
};

}  // namespace trtn::tensorrt
