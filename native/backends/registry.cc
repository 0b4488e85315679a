// The composition root: the backends compiled into this binary, listed explicitly (no static-initialiser
// registration). It sits above core/ (which includes nothing from backends/) and the backends.
#include "backends/cpu/cpu_backend.h"
#include "backends/tensorrt/trt_backend.h"
#ifdef TRTN_WITH_CUDA
#include "backends/cuda/cuda_backend.h"
#endif
#include "core/backend.h"

namespace trtn {
namespace {

const std::vector<const Backend*>& all_backends() {
  // tensorrt is always listed: without its module, libnvinfer or CUDA it is unavailable with the reason.
  static const std::vector<const Backend*> list = {&tensorrt::backend(),
#ifdef TRTN_WITH_CUDA
                                                   &cuda::backend(),
#endif
                                                   &cpu::backend()};
  return list;
}

}  // namespace

const Backend* find_backend(const std::string& name) {
  for (const Backend* b : all_backends()) {
    if (name == b->name) return b;
  }
  return nullptr;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const Backend* b : all_backends()) names.push_back(b->name);
  return names;
}

}  // namespace trtn
