// A one-thread kernel that proves this binary carries code the GPU can run.
#pragma once

#include <string>

// The oldest compute capability (10 * major + minor) this binary serves: the smallest
// architecture in TRTN_CUDA_ARCHS, defined by CMakeLists.txt (75 for the CUDA 13 build, 52 for
// the CUDA 12 variant of issue 17). The kernels choose by the GPU's sm at run time (the
// tensor-core families from sm_80, DP4A from sm_61).
#ifndef TRTN_CUDA_MIN_SM
#define TRTN_CUDA_MIN_SM 75
#endif

namespace trtn::cuda {

constexpr int kMinSm = TRTN_CUDA_MIN_SM;

/// "7.5": the capability kMinSm names, for messages.
inline std::string min_capability() { return std::to_string(kMinSm / 10) + "." + std::to_string(kMinSm % 10); }

/// Runs the probe kernel on `device`. Returns true and sets *arch to the __CUDA_ARCH__ the GPU
/// executed (e.g. 900); or false with *why set (no image for this GPU, launch failure ...).
bool run_probe(int device, int* arch, std::string* why);

}  // namespace trtn::cuda
