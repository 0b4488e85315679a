// The cuda backend: our own engine for NVIDIA GPUs (compiled when nvcc is found).
#pragma once

#include "core/backend.h"

namespace trtn::cuda {

/// The backend table ("cuda").
const Backend& backend();

}  // namespace trtn::cuda
