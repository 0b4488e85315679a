// How the cuda backend stores tensors, shared by host code and kernels.
//
// Every tensor has an element type (float32; float16 in fp16 engines; int8 where the graph says
// int8; uint8 for raw image inputs) and a layout: kLinear is the graph's own order (NCHW for images); kNHWC stores an
// image [C, H, W] channels-last with the channel count padded to `c_pad` (16 bytes of channels: 4 floats, 8 halves, 16
// int8), the form the tensor-core convolutions read. Padding channels always hold zero: whoever writes an NHWC tensor
// writes them.
//
// A tensor may live inside another (its "root"): the inputs of a Concat along channels are slices
// of the Concat's output, written in place by their producers, so the Concat costs nothing.
//
// Kernels see a tensor at run time as a View4: [N, C, H, W] with element strides. Tensors of rank
// <= 3 per image map onto it ([C] -> C,1,1; [C, H] -> C,H,1); larger ranks are kLinear only and
// their ops read the graph's dims.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TRTN_HD __host__ __device__ __forceinline__
#else
#define TRTN_HD inline
#endif

namespace trtn::cuda {

/// Element type of a stored tensor. kU8 is raw image bytes: graph inputs a Preprocess node reads,
/// always kLinear, stored as the host gives them.
enum class Elem : int32_t { kF32 = 0, kF16 = 1, kI8 = 2, kU8 = 3 };

TRTN_HD int elem_bytes(Elem e) { return e == Elem::kF32 ? 4 : e == Elem::kF16 ? 2 : 1; }

/// Layout of a stored tensor.
enum class Layout : int32_t { kLinear = 0, kNHWC = 1 };

/// A batch of a tensor in device memory: element (n, c, h, w) at
/// data + n*sn + c*sc + h*sh + w*sw (in elements of `elem`).
struct View4 {
  void* data = nullptr;
  Elem elem = Elem::kF32;
  Layout layout = Layout::kLinear;
  int32_t n = 0, c = 0, h = 1, w = 1;
  /// Channels a writer of this view writes: [c, c_write) are padding and get zeros.
  int32_t c_write = 0;
  int64_t sn = 0, sc = 0, sh = 0, sw = 0;
  /// Quantization scale of int8 tensors (real value = q * scale); 0 otherwise.
  float scale = 0.0f;

  TRTN_HD int64_t at(int64_t in, int64_t ic, int64_t ih, int64_t iw) const {
    return in * sn + ic * sc + ih * sh + iw * sw;
  }
  /// Elements of one image (c*h*w, padding excluded).
  TRTN_HD int64_t image_volume() const { return static_cast<int64_t>(c) * h * w; }
  /// True when the batch is one dense block in NCHW order (a whole kLinear tensor).
  TRTN_HD bool dense_nchw() const {
    return layout == Layout::kLinear && sw == 1 && sh == w && sc == static_cast<int64_t>(h) * w &&
           sn == static_cast<int64_t>(c) * h * w;
  }
};

}  // namespace trtn::cuda
