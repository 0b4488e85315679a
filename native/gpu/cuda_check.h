// Checked CUDA calls. Every runtime call in the cuda backend goes through TRTN_CUDA_TRY (or
// cuda_status), which turns a failure into a Status: kOutOfMemory for allocation failures (the
// caller adds what it asked for), kCuda otherwise, naming the call, file and line. Sticky errors
// (a kernel fault) poison the CUDA context; the message says so.
#pragma once

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "core/host_memory.h"
#include "core/status.h"

namespace trtn::gpu {

/// The Status for `err` from `call` at file:line (ok for cudaSuccess). Clears the runtime's
/// last-error state for non-sticky errors.
Status cuda_status(cudaError_t err, const char* call, const char* file, int line);

/// Free and total bytes on the current device ("" when unknown), for out-of-memory messages.
std::string memory_report();

/// Makes GPU `index` current and reads its properties; kNoDevice naming `backend` when no GPU is
/// visible or there is no such index.
Status select_device(int index, const std::string& backend, cudaDeviceProp* prop);

/// Owns device memory (cudaFree on destruction).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  ~DeviceBuffer() { reset(); }

  /// Allocates `bytes` (the old memory is freed first); kOutOfMemory naming `what`, the bytes
  /// asked and the bytes free.
  Status allocate(size_t bytes, const std::string& what);
  /// Allocates and copies `bytes` from host memory.
  Status upload(const void* host, size_t bytes, const std::string& what);
  template <typename T>
  Status upload(const std::vector<T>& v, const std::string& what) {
    return upload(v.data(), v.size() * sizeof(T), what);
  }
  void reset();
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

/// Owns pinned (page-locked) host memory for staging copies (cudaFreeHost on destruction).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() { reset(); }

  /// Allocates `bytes` (the old memory is freed first); kOutOfMemory naming `what` and the bytes.
  Status allocate(size_t bytes, const std::string& what);
  void reset();
  float* floats() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

/// Pinned host memory for the inputs and outputs of engines on GPU `device` (portable: every
/// context may copy from it; allocated with that GPU current, so no other GPU gets a context).
class PinnedAllocator : public HostAllocator {
 public:
  explicit PinnedAllocator(int device) : device_(device) {}
  Status allocate(size_t bytes, void** out) const override;
  void release(void* p) const override;
  bool pinned() const override { return true; }

 private:
  int device_;
};

}  // namespace trtn::gpu

#define TRTN_CUDA_STATUS(call) ::trtn::gpu::cuda_status((call), #call, __FILE__, __LINE__)

/// Evaluates a CUDA runtime call; on failure returns its Status from the enclosing function.
#define TRTN_CUDA_TRY(call)                                \
  do {                                                     \
    ::trtn::Status trtn_cuda_st_ = TRTN_CUDA_STATUS(call); \
    if (!trtn_cuda_st_.is_ok()) return trtn_cuda_st_;      \
  } while (0)

/// Checks the launch of the kernels just enqueued (cudaGetLastError).
#define TRTN_CUDA_LAUNCHED(what) TRTN_CUDA_TRY(cudaGetLastError())
