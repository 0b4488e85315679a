// The probe kernel: writes the __CUDA_ARCH__ of the code image the GPU picked.
#include <cuda_runtime.h>

#include <string>

#include "backends/cuda/probe.h"

namespace trtn::cuda {
namespace {

__global__ void probe_kernel(int* out) {
#ifdef __CUDA_ARCH__
  *out = __CUDA_ARCH__;
#endif
}

std::string describe(const char* call, cudaError_t err) {
  return std::string(call) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}

}  // namespace

bool run_probe(int device, int* arch, std::string* why) {
  cudaError_t err = cudaSetDevice(device);
  if (err != cudaSuccess) {
    *why = describe("cudaSetDevice", err);
    return false;
  }
  cudaFuncAttributes attrs{};
  err = cudaFuncGetAttributes(&attrs, probe_kernel);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    *why = err == cudaErrorNoKernelImageForDevice || err == cudaErrorInvalidDeviceFunction
               ? "this binary has no code for the GPU's architecture (rebuild with its sm_XX)"
               : describe("cudaFuncGetAttributes", err);
    return false;
  }
  int* buffer = nullptr;
  err = cudaMalloc(&buffer, sizeof(int));
  if (err != cudaSuccess) {
    *why = describe("cudaMalloc", err);
    return false;
  }
  probe_kernel<<<1, 1>>>(buffer);
  err = cudaGetLastError();
  int host = 0;
  if (err == cudaSuccess) err = cudaMemcpy(&host, buffer, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(buffer);
  if (err != cudaSuccess) {
    *why = describe("probe kernel", err);
    return false;
  }
  *arch = host;
  return true;
}

}  // namespace trtn::cuda
