// Host emulation of the CUDA pieces the kernels use: kernels run as host threads, one std::thread
// per CUDA thread of a block, blocks in turn; __syncthreads is a block barrier, shuffles go through
// a per-warp barrier; __shared__ is function-static (blocks never overlap). Runtime calls are
// renamed to host implementations. Included before everything (-include).
#pragma once
#define __shared__ static
#define __launch_bounds__(...)
#define cudaMalloc emu_cudaMalloc
#define cudaFree emu_cudaFree
#define cudaMemcpy emu_cudaMemcpy
#define cudaMemcpyAsync emu_cudaMemcpyAsync
#define cudaMemsetAsync emu_cudaMemsetAsync
#define cudaGetLastError emu_cudaGetLastError
#define cudaMemGetInfo emu_cudaMemGetInfo
#define cudaGetErrorName emu_cudaGetErrorName
#define cudaGetErrorString emu_cudaGetErrorString
#define cudaMallocHost emu_cudaMallocHost
#define cudaFreeHost emu_cudaFreeHost
#define cudaHostAlloc emu_cudaHostAlloc
#define cudaGetDeviceCount emu_cudaGetDeviceCount
#define cudaSetDevice emu_cudaSetDevice
#define cudaGetDeviceProperties emu_cudaGetDeviceProperties
#include <cuda_runtime.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

using std::isnan;
using std::max;
using std::min;

extern thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
struct Block;
extern thread_local Block* current;
struct Block {
  std::barrier<> all;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  std::vector<uint64_t> slots;
  explicit Block(int threads) : all(threads), slots(threads) {
    for (int w = 0; w < threads / 32; ++w) warps.push_back(std::make_unique<std::barrier<>>(32));
  }
};
inline int linear_tid() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

struct Config {
  dim3 grid, block;
  Config(dim3 g, dim3 b, size_t = 0, cudaStream_t = nullptr) : grid(g), block(b) {}
};
template <class... P>
struct Bound {
  void (*f)(P...);
  Config c;
};
template <class... A>
struct Args {
  std::tuple<A...> t;
};
template <class... A>
Args<std::decay_t<A>...> make_args(A&&... a) {
  return Args<std::decay_t<A>...>{std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)};
}
template <class... P>
Bound<P...> operator|(void (*f)(P...), Config c) {
  return Bound<P...>{f, c};
}
void run_grid(const Config& c, const std::function<void()>& body);
template <class... P, class... A>
void operator|(Bound<P...> b, Args<A...> a) {
  run_grid(b.c, [&]() { std::apply([&](auto&... x) { b.f(x...); }, a.t); });
}
}  // namespace emu

inline void __syncthreads() { emu::current->all.arrive_and_wait(); }
template <class T>
T __shfl_xor_sync(unsigned, T v, int mask) {
  static_assert(sizeof(T) <= 8, "");
  const int tid = emu::linear_tid();
  auto& warp = *emu::current->warps[tid / 32];
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  emu::current->slots[tid] = bits;
  warp.arrive_and_wait();
  const uint64_t other = emu::current->slots[(tid & ~31) | ((tid & 31) ^ mask)];
  warp.arrive_and_wait();
  T r;
  std::memcpy(&r, &other, sizeof(T));
  return r;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((uint64_t{a} * b) >> 32); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __log2f(float a) { return std::log2(a); }
inline unsigned __vmaxs4(unsigned a, unsigned b) {
  unsigned r = 0;
  for (int k = 0; k < 4; ++k) {
    const int x = static_cast<int8_t>(a >> (8 * k)), y = static_cast<int8_t>(b >> (8 * k));
    r |= (static_cast<unsigned>(x > y ? x : y) & 0xFFu) << (8 * k);
  }
  return r;
}
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
template <class T>
T __ldg(const T* p) { return *p; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
