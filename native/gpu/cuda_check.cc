// Checked CUDA calls, device and pinned buffers, device selection (cuda_check.h): shared by the cuda
// and tensorrt backends.
#include "gpu/cuda_check.h"

#include <cuda_runtime.h>

#include <string>

namespace trtn::gpu {
namespace {

/// Errors after which the CUDA context cannot be used again: every later call in this process
/// returns them (cudaGetLastError does not clear them).
bool is_sticky(cudaError_t err) {
  switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
#if CUDART_VERSION >= 13000  // not in CUDA 12.4's headers (the CUDA 12 variant, issue 17)
    case cudaErrorTensorMemoryLeak:
#endif
    case cudaErrorECCUncorrectable:
    case cudaErrorMpsClientTerminated: return true;
    default: return false;
  }
}

/// The file name without its directories (the build's absolute paths say nothing to a user).
const char* base_name(const char* file) {
  const char* base = file;
  for (const char* p = file; *p != '\0'; ++p) {
    if (*p == '/' || *p == '\\') base = p + 1;
  }
  return base;
}

}  // namespace

Status cuda_status(cudaError_t err, const char* call, const char* file, int line) {
  if (err == cudaSuccess) return Status::ok();
  const bool sticky = is_sticky(err);
  // A non-sticky error stays as the runtime's last error until read; read it so that the next
  // launch check does not report it again.
  if (!sticky) cudaGetLastError();
  std::string message = std::string(call) + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err) +
                        " (" + base_name(file) + ":" + std::to_string(line) + ")";
  if (sticky) {
    message += "; the CUDA context is now unusable: every later CUDA call in this process fails (restart the process)";
  }
  return Status(err == cudaErrorMemoryAllocation ? Code::kOutOfMemory : Code::kCuda, message);
}

std::string memory_report() {
  size_t free_bytes = 0, total_bytes = 0;
  cudaError_t err = cudaMemGetInfo(&free_bytes, &total_bytes);
  if (err != cudaSuccess) {
    if (!is_sticky(err)) cudaGetLastError();
    return "";
  }
  return std::to_string(free_bytes) + " bytes free of " + std::to_string(total_bytes);
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
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    const std::string report = memory_report();
    return Status(Code::kOutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes of GPU memory for " + what +
                                          (report.empty() ? std::string() : "; " + report));
  }
  TRTN_TRY(cuda_status(err, "cudaMalloc", __FILE__, __LINE__));
  ptr_ = p;
  bytes_ = bytes;
  return Status::ok();
}

Status DeviceBuffer::upload(const void* host, size_t bytes, const std::string& what) {
  Status st = allocate(bytes, what);
  if (!st.is_ok() || bytes == 0) return st;
  st = TRTN_CUDA_STATUS(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice));
  if (!st.is_ok()) reset();
  return st;
}

void DeviceBuffer::reset() {
  // Freeing cannot be reported from here (destructors); a failure leaves only a leak, and a
  // sticky error will surface at the next checked call.
  if (ptr_ != nullptr) {
    const cudaError_t err = cudaFree(ptr_);
    if (err != cudaSuccess && !is_sticky(err)) cudaGetLastError();
  }
  ptr_ = nullptr;
  bytes_ = 0;
}

Status PinnedBuffer::allocate(size_t bytes, const std::string& what) {
  reset();
  if (bytes == 0) return Status::ok();
  if (cudaMallocHost(&ptr_, bytes) != cudaSuccess) {
    cudaGetLastError();
    ptr_ = nullptr;
    return Status(Code::kOutOfMemory,
                  "cannot allocate " + std::to_string(bytes) + " bytes of pinned host memory for " + what);
  }
  bytes_ = bytes;
  return Status::ok();
}

void PinnedBuffer::reset() {
  if (ptr_ != nullptr) cudaFreeHost(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

Status PinnedAllocator::allocate(size_t bytes, void** out) const {
  *out = nullptr;
  if (cudaSetDevice(device_) != cudaSuccess ||
      cudaHostAlloc(out, bytes == 0 ? 1 : bytes, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();
    *out = nullptr;
    return Status(Code::kOutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes of pinned host memory");
  }
  return Status::ok();
}

void PinnedAllocator::release(void* p) const {
  if (p != nullptr) cudaFreeHost(p);
}

Status select_device(int index, const std::string& backend, cudaDeviceProp* prop) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return Status(Code::kNoDevice, backend + " backend: no GPU is visible");
  }
  if (index < 0 || index >= count) {
    return Status(Code::kNoDevice, backend + " backend: there is no GPU " + std::to_string(index) + " (" +
                                       std::to_string(count) + " visible)");
  }
  TRTN_CUDA_TRY(cudaSetDevice(index));
  *prop = cudaDeviceProp{};
  TRTN_CUDA_TRY(cudaGetDeviceProperties(prop, index));
  return Status::ok();
}

}  // namespace trtn::gpu
