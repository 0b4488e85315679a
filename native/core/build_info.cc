#include "core/build_info.h"

#include "core/op_kind.h"
#include "core/status.h"

// The build system passes these; defaults keep an unconfigured compile honest rather than broken.
#ifndef TRTN_PACKAGE_VERSION
#define TRTN_PACKAGE_VERSION "0.0.0-unknown"
#endif
#ifndef TRTN_BUILD_SYSTEM
#define TRTN_BUILD_SYSTEM "unknown"
#endif
#ifndef TRTN_CUDA_ARCHS
#define TRTN_CUDA_ARCHS ""
#endif
#ifndef TRTN_CUDA_VERSION
#define TRTN_CUDA_VERSION ""
#endif
#ifndef TRTN_NO_CUDA_NOTE
#define TRTN_NO_CUDA_NOTE "built without CUDA: nvcc was not found at build time"
#endif

namespace trtn {

const char* code_name(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "E_INVALID_ARGUMENT";
    case Code::kParse: return "E_PARSE";
    case Code::kUnsupportedLayer: return "E_UNSUPPORTED_LAYER";
    case Code::kShape: return "E_SHAPE";
    case Code::kWeights: return "E_WEIGHTS";
    case Code::kPlanCorrupt: return "E_PLAN_CORRUPT";
    case Code::kPlanVersion: return "E_PLAN_VERSION";
    case Code::kOutOfMemory: return "E_OUT_OF_MEMORY";
    case Code::kCuda: return "E_CUDA";
    case Code::kNoDevice: return "E_NO_DEVICE";
    case Code::kBackendUnavailable: return "E_BACKEND_UNAVAILABLE";
    case Code::kDisposed: return "E_DISPOSED";
    case Code::kInternal: return "E_INTERNAL";
    case Code::kIO: return "E_IO";
    case Code::kPlanBackend: return "E_PLAN_BACKEND";
    case Code::kPlanArch: return "E_PLAN_ARCH";
    case Code::kCalibration: return "E_CALIBRATION";
    case Code::kAborted: return "E_ABORTED";
    case Code::kPlugin: return "E_PLUGIN";
  }
  return "E_INTERNAL";
}

namespace {

#ifdef TRTN_WITH_CUDA
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text) {
    if (c == ';' || c == ',' || c == ' ') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}
#endif

std::string compiler_name() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "g++ " __VERSION__;
#elif defined(_MSC_VER)
  return "msvc " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

}  // namespace

BuildInfo build_info() {
  BuildInfo info;
  info.package_version = TRTN_PACKAGE_VERSION;
  info.backends.push_back("cpu");
#ifdef TRTN_WITH_CUDA
  info.backends.push_back("cuda");
  info.cuda = true;
  // Also a marker `tensorrt-node info` finds in a binary it does not load (lib/cli/binary_scan.ts):
  // Debian's nvcc leaves out NVIDIA's "Cuda compilation tools, release" string.
#define TRTN_CUDA_MARKER "tensorrt-node built with CUDA release "
  static const char kMarker[] = TRTN_CUDA_MARKER TRTN_CUDA_VERSION;
  info.cuda_version = kMarker + sizeof(TRTN_CUDA_MARKER) - 1;
#undef TRTN_CUDA_MARKER
  info.cuda_archs = split_list(TRTN_CUDA_ARCHS);
#else
  info.note = TRTN_NO_CUDA_NOTE;
#endif
  info.compiler = compiler_name();
  info.build_system = TRTN_BUILD_SYSTEM;
  info.napi_version = NAPI_VERSION;
  info.ops = op_names();
  return info;
}

}  // namespace trtn
