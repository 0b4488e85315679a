// 32-bit index arithmetic of the non-GEMM kernels: divisions by host-fixed divisors, view
// coordinates from a linear index, and batch chunking so every launch indexes below 2^31.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "backends/cuda/format.h"
#include "core/status.h"

namespace trtn::cuda {

/// Division of n < 2^31 by a divisor fixed on the host, as a multiply-high and a shift
/// (Granlund-Montgomery, the form CUTLASS's FastDivmod uses).
struct FastDiv {
  uint32_t d = 1, mul = 0, shift = 0;

  FastDiv() = default;
  explicit FastDiv(uint32_t divisor) : d(divisor) {
    if (divisor > 1) {
      uint32_t p = 0;  // ceil(log2(divisor))
      while ((uint64_t{1} << p) < divisor) ++p;
      mul = static_cast<uint32_t>(((uint64_t{1} << (31 + p)) + divisor - 1) / divisor);
      shift = p - 1;
    }
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const { return d == 1 ? n : __umulhi(n, mul) >> shift; }
};

/// Largest index a launch iterates over (exclusive): kernels index with 32-bit arithmetic.
constexpr int64_t kMaxLaunchItems = int64_t{1} << 31;

/// Coordinates of the i-th element (i < 2^31) of a view in its memory order (kNHWC: channel
/// fastest; kLinear: width fastest), channels counted to c_write.
struct Decoder {
  Layout layout = Layout::kLinear;
  FastDiv by_w, by_h, by_c;

  Decoder() = default;
  explicit Decoder(const View4& v)
      : layout(v.layout),
        by_w(static_cast<uint32_t>(v.w)),
        by_h(static_cast<uint32_t>(v.h)),
        by_c(static_cast<uint32_t>(v.c_write)) {}

  __device__ __forceinline__ void decode(uint32_t i, int& n, int& c, int& h, int& w) const {
    if (layout == Layout::kNHWC) {
      uint32_t q = by_c.div(i);
      c = static_cast<int>(i - q * by_c.d);
      uint32_t r = by_w.div(q);
      w = static_cast<int>(q - r * by_w.d);
      q = by_h.div(r);
      h = static_cast<int>(r - q * by_h.d);
      n = static_cast<int>(q);
    } else {
      uint32_t q = by_w.div(i);
      w = static_cast<int>(i - q * by_w.d);
      uint32_t r = by_h.div(q);
      h = static_cast<int>(q - r * by_h.d);
      q = by_c.div(r);
      c = static_cast<int>(r - q * by_c.d);
      n = static_cast<int>(q);
    }
  }
};

/// Calls fn(n0, count) over consecutive chunks of [0, batch) such that count * per_image stays
/// below 2^31 (the kernels' 32-bit index range); stops at the first error.
template <typename Fn>
Status for_batch_chunks(int batch, int64_t per_image, Fn fn) {
  if (batch <= 0 || per_image <= 0) return Status::ok();
  if (per_image >= kMaxLaunchItems) {
    return Status(Code::kInvalidArgument, "cuda backend: a tensor of " + std::to_string(per_image) +
                                              " elements per image is beyond the kernels' 2^31 index range");
  }
  const int64_t step = (kMaxLaunchItems - 1) / per_image;
  for (int64_t n0 = 0; n0 < batch; n0 += step) {
    const int count = static_cast<int>(std::min<int64_t>(step, batch - n0));
    Status st = fn(static_cast<int>(n0), count);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

}  // namespace trtn::cuda
