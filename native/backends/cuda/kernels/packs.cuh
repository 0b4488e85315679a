// 16-byte vector packs: a chunk of V elements loaded or stored as one aligned access when the
// pointer and strides allow it, element by element otherwise.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/format.h"
#include "backends/cuda/kernels/elem_io.cuh"

namespace trtn::cuda {

/// Alignment a pack of V elements of T is accessed with: its size, at most 16 bytes.
template <typename T, int V>
constexpr int pack_align() {
  return static_cast<int>(sizeof(T)) * V >= 16 ? 16 : static_cast<int>(sizeof(T)) * V;
}

/// V elements of T loaded or stored together (one to four 16-byte accesses).
template <typename T, int V>
struct alignas(pack_align<T, V>()) Pack {
  T v[V];
};

/// Elements per chunk of a map writing Tout: 16 bytes of output.
template <typename Tout>
constexpr int map_width() {
  return 16 / static_cast<int>(sizeof(Tout));
}

inline bool aligned_to(const void* p, int bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

/// Whether every V-element chunk of a channels-last view that starts at a multiple of V channels
/// can be accessed as one Pack<T, V>: the data aligned and every stride a multiple of V.
template <typename T, int V>
bool packs_fit(const View4& v) {
  return aligned_to(v.data, pack_align<T, V>()) && v.sn % V == 0 && v.sh % V == 0 && v.sw % V == 0;
}

/// Loads elements [0, valid) of a chunk as floats (zeros after), as one pack when it can.
template <typename T, int V>
__device__ __forceinline__ void load_chunk(const T* p, int valid, bool vec, float (&x)[V]) {
  if (vec && valid >= V) {
    const Pack<T, V> pk = *reinterpret_cast<const Pack<T, V>*>(p);
#pragma unroll
    for (int k = 0; k < V; ++k) x[k] = to_float(pk.v[k]);
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) x[k] = k < valid ? to_float(p[k]) : 0.0f;
  }
}

/// Stores elements [0, cnt) of a chunk.
template <typename T, int V>
__device__ __forceinline__ void store_chunk(T* p, int cnt, bool vec, const float (&y)[V]) {
  if (vec && cnt == V) {
    Pack<T, V> pk;
#pragma unroll
    for (int k = 0; k < V; ++k) pk.v[k] = from_float<T>(y[k]);
    *reinterpret_cast<Pack<T, V>*>(p) = pk;
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      if (k < cnt) p[k] = from_float<T>(y[k]);
    }
  }
}

}  // namespace trtn::cuda
