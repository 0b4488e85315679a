// A one-thread kernel that proves this binary carries code the GPU can run.
#pragma once

#include <string>

namespace trtn::cuda {

/// Runs the probe kernel on `device`. Returns true and sets *arch to the __CUDA_ARCH__ the GPU
/// executed (e.g. 900); or false with *why set (no image for this GPU, launch failure ...).
bool run_probe(int device, int* arch, std::string* why);

}  // namespace trtn::cuda
