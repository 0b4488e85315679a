// An example tensorrt-node layer plugin (native/include/tensorrt_node_plugin.h), two layer types:
//   Axpy         (SENet's Caffe, NVCaffe): bottoms a [N, C, 1, 1], x and y [N, C, H, W];
//                top = a[n, c] * x + y, which squeeze-and-excitation blocks use for the scaled sum;
//   HardSigmoid  (MobileNet V3 ports): top = min(max(alpha * x + beta, 0), 1), with
//                hard_sigmoid_param { alpha (default 0.2) beta (default 0.5) } in the prototxt.
// Built with g++ it has the cpu functions; built with nvcc (as a .cu) the cuda ones too, in float32
// and float16 (forward_cuda_ex, ABI 2), Axpy with a workspace:
//   bash examples/plugins/build.sh [--cuda] [output.so]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "include/tensorrt_node_plugin.h"

namespace {

/// The number after "key": in a flat JSON object of numbers, or `fallback`.
double json_number(const char* json, const char* key, double fallback) {
  char quoted[64];
  std::snprintf(quoted, sizeof quoted, "\"%s\":", key);
  const char* at = std::strstr(json, quoted);
  return at == nullptr ? fallback : std::strtod(at + std::strlen(quoted), nullptr);
}

int fail(char* error, size_t size, const char* message) {
  std::snprintf(error, size, "%s", message);
  return 1;
}

int64_t volume(const trtn_dims& d, int from = 0) {
  int64_t v = 1;
  for (int i = from; i < d.rank; ++i) v *= d.d[i];
  return v;
}

// ---- Axpy ----------------------------------------------------------------------------------

int32_t axpy_dims(const char*, int32_t n_in, const trtn_dims* in, int32_t n_out, trtn_dims* out, char* error,
                  size_t size) {
  if (n_in != 3 || n_out != 1) return fail(error, size, "Axpy takes bottoms a, x, y and one top");
  const trtn_dims &a = in[0], &x = in[1], &y = in[2];
  if (x.rank < 2 || std::memcmp(&x, &y, sizeof x) != 0) return fail(error, size, "x and y must have one shape, N x C x ...");
  if (a.rank < 2 || a.d[0] != x.d[0] || a.d[1] != x.d[1] || volume(a, 2) != 1) {
    return fail(error, size, "a must be N x C x 1 x 1 for x of N x C x ...");
  }
  out[0] = x;
  return 0;
}

int32_t axpy_cpu(const char*, int32_t batch, int32_t, const trtn_dims* in_dims, const float* const* in, int32_t,
                 const trtn_dims*, float* const* out, char*, size_t) {
  const int64_t channels = in_dims[1].d[0], plane = volume(in_dims[1], 1);
  for (int64_t nc = 0; nc < batch * channels; ++nc) {
    const float a = in[0][nc];
    for (int64_t i = nc * plane; i < (nc + 1) * plane; ++i) out[0][i] = a * in[1][i] + in[2][i];
  }
  return 0;
}

// ---- HardSigmoid ---------------------------------------------------------------------------

int32_t same_dims(const char* params, int32_t n_in, const trtn_dims* in, int32_t n_out, trtn_dims* out, char* error,
                  size_t size) {
  if (n_in != 1 || n_out != 1) return fail(error, size, "HardSigmoid takes one bottom and one top");
  if (json_number(params, "alpha", 0.2) == 0) return fail(error, size, "hard_sigmoid_param alpha must not be 0");
  out[0] = in[0];
  return 0;
}

int32_t hard_sigmoid_cpu(const char* params, int32_t batch, int32_t, const trtn_dims* in_dims, const float* const* in,
                         int32_t, const trtn_dims*, float* const* out, char*, size_t) {
  const float alpha = static_cast<float>(json_number(params, "alpha", 0.2));
  const float beta = static_cast<float>(json_number(params, "beta", 0.5));
  const int64_t n = batch * volume(in_dims[0]);
  for (int64_t i = 0; i < n; ++i) out[0][i] = std::fmin(std::fmax(alpha * in[0][i] + beta, 0.0f), 1.0f);
  return 0;
}

}  // namespace

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace {

__device__ float as_float(float v) { return v; }
__device__ float as_float(__half v) { return __half2float(v); }
template <typename T>
__device__ T from_float(float v);
template <>
__device__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}

#define GRID_LOOP(i, n)                                                                       \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(n / 256 + 1 < 4096 ? n / 256 + 1 : 4096); }

int launched(char* error, size_t size) {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? 0 : fail(error, size, cudaGetErrorString(e));
}

// Axpy in the element type T: the scales a (one per image and channel) are first expanded to float
// in the workspace (workspace_size asks for them), then every element reads its plane's scale.
template <typename T>
__global__ void scales_kernel(const T* a, float* scales, int64_t count) {
  GRID_LOOP(i, count) scales[i] = as_float(a[i]);
}

template <typename T>
__global__ void axpy_kernel(const float* scales, const T* x, const T* y, T* out, int64_t n, int64_t plane) {
  GRID_LOOP(i, n) out[i] = from_float<T>(scales[i / plane] * as_float(x[i]) + as_float(y[i]));
}

template <typename T>
__global__ void hard_sigmoid_kernel(const T* x, T* out, int64_t n, float alpha, float beta) {
  GRID_LOOP(i, n) out[i] = from_float<T>(fminf(fmaxf(alpha * as_float(x[i]) + beta, 0.0f), 1.0f));
}

size_t axpy_workspace(const char*, int32_t batch, int32_t, int32_t, const trtn_dims* in_dims, int32_t,
                      const trtn_dims*) {
  return static_cast<size_t>(batch * volume(in_dims[0])) * sizeof(float);
}

template <typename T>
void axpy_launch(int32_t batch, const trtn_dims* in_dims, const void* const* in, void* const* out, void* workspace,
                 cudaStream_t stream) {
  const int64_t count = batch * volume(in_dims[0]), plane = volume(in_dims[1], 1), n = batch * volume(in_dims[1]);
  auto* scales = static_cast<float*>(workspace);
  scales_kernel<<<blocks_for(count), 256, 0, stream>>>(static_cast<const T*>(in[0]), scales, count);
  axpy_kernel<<<blocks_for(n), 256, 0, stream>>>(scales, static_cast<const T*>(in[1]), static_cast<const T*>(in[2]),
                                                 static_cast<T*>(out[0]), n, plane);
}

int32_t axpy_cuda(const char*, int32_t batch, int32_t dtype, int32_t, const trtn_dims* in_dims, const void* const* in,
                  int32_t, const trtn_dims*, void* const* out, void* workspace, void* stream, char* error,
                  size_t size) {
  if (dtype == TRTN_PLUGIN_FLOAT16) {
    axpy_launch<__half>(batch, in_dims, in, out, workspace, static_cast<cudaStream_t>(stream));
  } else {
    axpy_launch<float>(batch, in_dims, in, out, workspace, static_cast<cudaStream_t>(stream));
  }
  return launched(error, size);
}

int32_t hard_sigmoid_cuda(const char* params, int32_t batch, int32_t dtype, int32_t, const trtn_dims* in_dims,
                          const void* const* in, int32_t, const trtn_dims*, void* const* out, void*, void* stream,
                          char* error, size_t size) {
  const int64_t n = batch * volume(in_dims[0]);
  const float alpha = static_cast<float>(json_number(params, "alpha", 0.2));
  const float beta = static_cast<float>(json_number(params, "beta", 0.5));
  const auto s = static_cast<cudaStream_t>(stream);
  if (dtype == TRTN_PLUGIN_FLOAT16) {
    hard_sigmoid_kernel<<<blocks_for(n), 256, 0, s>>>(static_cast<const __half*>(in[0]), static_cast<__half*>(out[0]),
                                                      n, alpha, beta);
  } else {
    hard_sigmoid_kernel<<<blocks_for(n), 256, 0, s>>>(static_cast<const float*>(in[0]), static_cast<float*>(out[0]), n,
                                                      alpha, beta);
  }
  return launched(error, size);
}

}  // namespace
// The cuda forwards take float32 and float16 (an FP16 engine hands its tensors over as they are).
#define CUDA_TYPES (TRTN_PLUGIN_FLOAT32 | TRTN_PLUGIN_FLOAT16)
#define AXPY_WORKSPACE axpy_workspace
#define AXPY_CUDA axpy_cuda
#define HARD_SIGMOID_CUDA hard_sigmoid_cuda
#else
#define CUDA_TYPES 0
#define AXPY_WORKSPACE nullptr
#define AXPY_CUDA nullptr
#define HARD_SIGMOID_CUDA nullptr
#endif

namespace {

// forward_cuda (ABI 1's float32-only forward) is left NULL: forward_cuda_ex replaces it.
const trtn_plugin_layer kLayers[] = {
    {"Axpy", nullptr, 0, nullptr, 3, 3, 1, axpy_dims, axpy_cpu, nullptr, CUDA_TYPES, AXPY_WORKSPACE, AXPY_CUDA},
    {"HardSigmoid", "hard_sigmoid_param", 30001, "alpha:float:1:0.2;beta:float:2:0.5", 1, 1, 1, same_dims,
     hard_sigmoid_cpu, nullptr, CUDA_TYPES, nullptr, HARD_SIGMOID_CUDA},
};

const trtn_plugin kPlugin = {TRTN_PLUGIN_ABI_VERSION, "tensorrt-node-example", 1, 2, kLayers};

}  // namespace

extern "C" __attribute__((visibility("default"))) const trtn_plugin* trtn_plugin_v1(void) { return &kPlugin; }
