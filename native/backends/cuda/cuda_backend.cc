// The cuda backend: our own engine for NVIDIA GPUs (compiled when nvcc is found). This file is its
// backend table; the engine is cuda_engine.cc, tactic timing cuda_tuner.cc, contexts cuda_context.cc.
#include "backends/cuda/cuda_backend.h"

#include "backends/cuda/cuda_engine.h"
#include "core/device_query.h"

namespace trtn::cuda {
namespace {

bool available(std::string* why) {
  const DeviceList list = query_devices(false);
  if (list.devices.empty()) {
    *why = list.reason.empty() ? "no CUDA-capable GPU is visible" : list.reason;
    return false;
  }
  for (const DeviceInfo& d : list.devices) {
    if (d.supported) return true;
  }
  *why = "no visible GPU can run this build: " + list.devices[0].name + ": " + list.devices[0].unsupported_reason;
  return false;
}

Status make_engine(const BuildInput& in, bool loading, std::unique_ptr<Engine>* out) {
  auto engine = std::make_unique<CudaEngine>(in.graph, in.weights);
  TRTN_TRY(engine->init(in, loading));
  *out = std::move(engine);
  return Status::ok();
}

Status build(const BuildInput& in, std::unique_ptr<Engine>* out) { return make_engine(in, false, out); }
Status load(const BuildInput& in, std::unique_ptr<Engine>* out) { return make_engine(in, true, out); }

bool supports(const Graph& graph, const Node& node, std::string* why) {
  return table_supports(op_table(), graph, node, why);
}

std::vector<std::string> ops() { return op_table().names(); }

const Backend kBackend{"cuda", available, build, load, supports, ops};

}  // namespace

const Backend& backend() { return kBackend; }

}  // namespace trtn::cuda
