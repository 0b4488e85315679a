// Checked CUDA calls. Every runtime call in the cuda backend goes through TRTN_CUDA_TRY (or
// cuda_status), which turns a failure into a Status: kOutOfMemory for allocation failures (the
// caller adds what it asked for), kCuda otherwise, naming the call, file and line. Sticky errors
// (a kernel fault) poison the CUDA context; the message says so.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/status.h"

namespace trtn::cuda {

/// The Status for `err` from `call` at file:line (ok for cudaSuccess). Clears the runtime's
/// last-error state for non-sticky errors.
Status cuda_status(cudaError_t err, const char* call, const char* file, int line);

/// Free and total bytes on the current device ("" when unknown), for out-of-memory messages.
std::string memory_report();

}  // namespace trtn::cuda

#define TRTN_CUDA_STATUS(call) ::trtn::cuda::cuda_status((call), #call, __FILE__, __LINE__)

/// Evaluates a CUDA runtime call; on failure returns its Status from the enclosing function.
#define TRTN_CUDA_TRY(call)                                      \
  do {                                                           \
    ::trtn::Status trtn_cuda_st_ = TRTN_CUDA_STATUS(call);       \
    if (!trtn_cuda_st_.is_ok()) return trtn_cuda_st_;            \
  } while (0)

/// Checks the launch of the kernels just enqueued (cudaGetLastError).
#define TRTN_CUDA_LAUNCHED(what) TRTN_CUDA_TRY(cudaGetLastError())
