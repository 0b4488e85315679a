// What this addon binary was built with: package version, backends compiled in, CUDA version
// and the GPU architectures of its CUDA code, the ops its execution graphs may hold.
#pragma once

#include <string>
#include <vector>

namespace trtn {

/// Facts fixed at compile time, reported by buildInfo() in JS.
struct BuildInfo {
  std::string package_version;
  std::vector<std::string> backends;    // e.g. {"cpu", "cuda"}
  bool cuda = false;                    // CUDA code compiled in
  std::string cuda_version;             // toolkit version the addon was built with ("13.0")
  std::vector<std::string> cuda_archs;  // e.g. {"sm_75", ..., "compute_90"}
  std::string compiler;                 // host C++ compiler and version
  std::string build_system;             // "cmake-js" or "node-gyp"
  int napi_version = 0;
  std::string note;              // why CUDA is absent, when it is
  std::vector<std::string> ops;  // the execution graph's ops (core/op_kind.h), OpKind order
};

/// Returns the facts above for this binary.
BuildInfo build_info();

}  // namespace trtn
