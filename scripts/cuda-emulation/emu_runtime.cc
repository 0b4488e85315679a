#include <cstdio>
#include <cstdlib>

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
namespace emu {
thread_local Block* current = nullptr;
void run_grid(const Config& c, const std::function<void()>& body) {
  const int threads = c.block.x * c.block.y * c.block.z;
  if (threads % 32 != 0) { std::fprintf(stderr, "emu: block size %d not a multiple of 32\n", threads); std::abort(); }
  for (unsigned bz = 0; bz < c.grid.z; ++bz)
    for (unsigned by = 0; by < c.grid.y; ++by)
      for (unsigned bx = 0; bx < c.grid.x; ++bx) {
        Block block(threads);
        std::vector<std::thread> pool;
        for (unsigned tz = 0; tz < c.block.z; ++tz)
          for (unsigned ty = 0; ty < c.block.y; ++ty)
            for (unsigned tx = 0; tx < c.block.x; ++tx)
              pool.emplace_back([&, tx, ty, tz, bx, by, bz]() {
                threadIdx = dim3(tx, ty, tz);
                blockIdx = dim3(bx, by, bz);
                blockDim = c.block;
                gridDim = c.grid;
                current = &block;
                body();
              });
        for (auto& t : pool) t.join();
      }
}
}  // namespace emu

cudaError_t emu_cudaMalloc(void** p, size_t bytes) { *p = std::malloc(bytes); return *p ? cudaSuccess : cudaErrorMemoryAllocation; }
cudaError_t emu_cudaFree(void* p) { std::free(p); return cudaSuccess; }
cudaError_t emu_cudaMallocHost(void** p, size_t bytes) { return emu_cudaMalloc(p, bytes); }
cudaError_t emu_cudaFreeHost(void* p) { return emu_cudaFree(p); }
cudaError_t emu_cudaHostAlloc(void** p, size_t bytes, unsigned) { return emu_cudaMalloc(p, bytes); }
cudaError_t emu_cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
cudaError_t emu_cudaSetDevice(int) { return cudaSuccess; }
cudaError_t emu_cudaGetDeviceProperties(cudaDeviceProp* p, int) { *p = cudaDeviceProp{}; return cudaSuccess; }
cudaError_t emu_cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
cudaError_t emu_cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) { std::memmove(d, s, n); return cudaSuccess; }
cudaError_t emu_cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t) { std::memset(d, v, n); return cudaSuccess; }
cudaError_t emu_cudaGetLastError() { return cudaSuccess; }
cudaError_t emu_cudaMemGetInfo(size_t* f, size_t* t) { *f = 1; *t = 2; return cudaSuccess; }
const char* emu_cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
const char* emu_cudaGetErrorString(cudaError_t) { return "emulated error"; }
