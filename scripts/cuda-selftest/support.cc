// Minimal definitions of the cuda backend's host helpers (cuda_check.h, op.h's DeviceBuffer) for the
// standalone kernel self-tests in this folder, so they link without the rest of the backend.
// Not part of the addon.
#include <cuda_runtime.h>

#include <string>

#include "gpu/cuda_check.h"
#include "backends/cuda/op.h"

namespace trtn::gpu {

Status cuda_status(cudaError_t err, const char* call, const char* file, int line) {
  if (err == cudaSuccess) return Status::ok();
  cudaGetLastError();
  const Code code = err == cudaErrorMemoryAllocation ? Code::kOutOfMemory : Code::kCuda;
  return Status(code, std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                          cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

std::string memory_report() {
  size_t free_bytes = 0, total = 0;
  if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) return "";
  return std::to_string(free_bytes) + " of " + std::to_string(total) + " bytes free";
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

Status DeviceBuffer::allocate(size_t bytes, const std::string& what) {
  reset();
  if (bytes == 0) return Status::ok();
  cudaError_t err = cudaMalloc(&ptr_, bytes);
  if (err != cudaSuccess) {
    ptr_ = nullptr;
    cudaGetLastError();
    return Status(Code::kOutOfMemory, what + ": cannot allocate " + std::to_string(bytes) + " bytes (" + memory_report() + ")");
  }
  bytes_ = bytes;
  return Status::ok();
}

Status DeviceBuffer::upload(const void* host, size_t bytes, const std::string& what) {
  Status st = allocate(bytes, what);
  if (!st.is_ok() || bytes == 0) return st;
  return TRTN_CUDA_STATUS(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::reset() {
  if (ptr_ != nullptr) cudaFree(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

}  // namespace trtn::gpu
