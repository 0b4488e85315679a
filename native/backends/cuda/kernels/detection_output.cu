// DetectionOutput on the GPU (core/detection_output_params.h), the whole batch per run:
//  1. decode: every (image, prior, location class) box, float32, into the workspace;
//  2. candidates: per (image, class) segment of P priors the score, or -inf for the background
//     class and scores not above the threshold; a stable segmented radix sort (CUB) puts them in
//     descending order, ties keeping the lower prior first;
//  3. NMS: one block per (image, class) walks its first top_k candidates in order; the block tests
//     each against the boxes kept so far in parallel (__syncthreads_or) and keeps it when no IoU is
//     above the threshold;
//  4. keep_top_k: per image, a second stable sort of the kept scores in (class, NMS position) order
//     marks the first keep_top_k;
//  5. rows: one block per image scans the marked detections in (class, position) order (BlockScan)
//     and writes [image, label, score, box], then the padding rows.
// The box math is core/detection_output_params.h's, the same code as the cpu backend.
#include <cmath>
#include <memory>
#include <string>

#include <cub/cub.cuh>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/segmented_sort.cuh"
#include "core/detection_output_params.h"

namespace trtn::cuda {
namespace {

constexpr int kNmsThreads = 256;
constexpr int kRowThreads = 256;
constexpr int kSharedBoxes = 1024;  // kept boxes a block caches in shared memory (16 KB)

/// Byte offsets of the workspace's parts for one batch.
struct Workspace {
  size_t boxes = 0, keys_in = 0, keys_out = 0, vals_in = 0, vals_out = 0, offsets = 0, temp = 0;
  size_t kept_count = 0, kept_prior = 0, kept_score = 0;
  size_t keys2_in = 0, keys2_out = 0, vals2_in = 0, vals2_out = 0, offsets2 = 0, temp2 = 0, chosen = 0;
  size_t temp_bytes = 0, temp2_bytes = 0, total = 0;
};

/// Sizes of one run: images, priors, location classes, classes, candidates per class.
struct Dims {
  int64_t n, p, l, c, t;
  __host__ __device__ int64_t items1() const { return n * c * p; }
  __host__ __device__ int64_t items2() const { return n * c * t; }
};

__global__ void __launch_bounds__(kMapThreads)
    decode_kernel(const void* loc, Elem loc_elem, const void* prior, Elem prior_elem, float4* boxes, Dims d,
                  BoxCode code, bool encoded, bool clip) {
  const int64_t total = d.n * d.p * d.l;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = t / (d.p * d.l), i = (t / d.l) % d.p;
    float b[4], v[4], l[4], out[4];
    const int64_t pb = n * 2 * d.p * 4;
    for (int k = 0; k < 4; ++k) {
      b[k] = load_any(prior, prior_elem, pb + i * 4 + k);
      v[k] = load_any(prior, prior_elem, pb + (d.p + i) * 4 + k);
      l[k] = load_any(loc, loc_elem, t * 4 + k);
    }
    decode_box(code, encoded, b, v, l, out);
    if (clip) {
      for (int k = 0; k < 4; ++k) out[k] = fminf(fmaxf(out[k], 0.0f), 1.0f);
    }
    boxes[t] = make_float4(out[0], out[1], out[2], out[3]);
  }
}

/// Keys (score or -inf) and values (prior) of every (image, class, prior); segment offsets.
__global__ void __launch_bounds__(kMapThreads)
    candidates_kernel(const void* conf, Elem conf_elem, float* keys, int* vals, int* offsets, Dims d,
                      int64_t background, float threshold) {
  const int64_t items = d.items1(), segments = d.n * d.c;
  const int64_t total = items > segments + 1 ? items : segments + 1;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (t <= segments) offsets[t] = static_cast<int>(t * d.p);
    if (t >= items) continue;
    const int64_t seg = t / d.p, i = t - seg * d.p, n = seg / d.c, c = seg - n * d.c;
    const float s = load_any(conf, conf_elem, (n * d.p + i) * d.c + c);
    keys[t] = c != background && s > threshold ? s : -INFINITY;
    vals[t] = static_cast<int>(i);
  }
}

__device__ __forceinline__ float4 box_at(const float4* boxes, const Dims& d, int64_t n, int64_t prior, int64_t l) {
  return boxes[(n * d.p + prior) * d.l + l];
}

__device__ __forceinline__ float iou4(const float4& a, const float4& b) {
  const float p[4] = {a.x, a.y, a.z, a.w}, q[4] = {b.x, b.y, b.z, b.w};
  return box_iou(p, q);
}

/// Greedy NMS of one (image, class) segment over its first top_k sorted candidates.
__global__ void __launch_bounds__(kNmsThreads)
    nms_kernel(const float* keys, const int* vals, const float4* boxes, int* kept_count, int* kept_prior,
               float* kept_score, Dims d, float nms_threshold, float eta) {
  __shared__ float4 cached[kSharedBoxes];
  __shared__ int count, kept;
  __shared__ float threshold;
  const int64_t seg = blockIdx.x, n = seg / d.c, c = seg - n * d.c, l = d.l == 1 ? 0 : c;
  const float* k = keys + seg * d.p;
  const int* v = vals + seg * d.p;
  int* out_prior = kept_prior + seg * d.t;
  float* out_score = kept_score + seg * d.t;
  if (threadIdx.x == 0) {
    // Valid candidates form a prefix of the sorted keys: the first -inf ends it.
    int lo = 0, hi = static_cast<int>(d.t);
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (k[mid] > -INFINITY)
        lo = mid + 1;
      else
        hi = mid;
    }
    count = lo;
    kept = 0;
    threshold = nms_threshold;
  }
  __syncthreads();
  for (int i = 0; i < count; ++i) {
    const float4 box = box_at(boxes, d, n, v[i], l);
    bool suppressed = false;
    for (int j = threadIdx.x; j < kept && !suppressed; j += blockDim.x) {
      const float4 other = j < kSharedBoxes ? cached[j] : box_at(boxes, d, n, out_prior[j], l);
      suppressed = iou4(box, other) > threshold;
    }
    suppressed = __syncthreads_or(suppressed);
    if (!suppressed && threadIdx.x == 0) {
      out_prior[kept] = v[i];
      out_score[kept] = k[i];
      if (kept < kSharedBoxes) cached[kept] = box;
      ++kept;
      if (eta < 1.0f && threshold > 0.5f) threshold *= eta;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) kept_count[seg] = kept;
}

/// Keys (kept score or -inf) and values (slot = class * t + position) per image for keep_top_k.
__global__ void __launch_bounds__(kMapThreads)
    kept_keys_kernel(const int* kept_count, const float* kept_score, float* keys, int* vals, int* offsets, Dims d) {
  const int64_t items = d.items2(), per_image = d.c * d.t;
  const int64_t total = items > d.n + 1 ? items : d.n + 1;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (t <= d.n) offsets[t] = static_cast<int>(t * per_image);
    if (t >= items) continue;
    const int64_t seg = t / d.t, pos = t - seg * d.t;
    keys[t] = pos < kept_count[seg] ? kept_score[t] : -INFINITY;
    vals[t] = static_cast<int>(t % per_image);
  }
}

/// chosen[image, slot] = 1 for the first keep_top_k kept detections of each image.
__global__ void __launch_bounds__(kMapThreads)
    choose_kernel(const float* keys, const int* vals, unsigned char* chosen, Dims d, int64_t keep_top_k) {
  const int64_t items = d.items2(), per_image = d.c * d.t;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < items;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = t / per_image, rank = t - n * per_image;
    chosen[n * per_image + vals[t]] = rank < keep_top_k && keys[t] > -INFINITY ? 1 : 0;
  }
}

/// The rows of one image: chosen detections in (class, position) order, then padding.
__global__ void __launch_bounds__(kRowThreads)
    rows_kernel(const int* kept_count, const int* kept_prior, const float* kept_score, const unsigned char* chosen,
                const float4* boxes, void* out, Elem out_elem, Dims d, int64_t rows) {
  using Scan = cub::BlockScan<int, kRowThreads>;
  __shared__ typename Scan::TempStorage scan;
  const int64_t n = blockIdx.x, per_image = d.c * d.t;
  int64_t base = 0;
  for (int64_t s0 = 0; s0 < per_image; s0 += kRowThreads) {
    const int64_t slot = s0 + threadIdx.x;
    const int64_t seg = n * d.c + slot / d.t;
    const bool valid = slot < per_image && slot % d.t < kept_count[seg];
    const bool take = valid && (chosen == nullptr || chosen[n * per_image + slot] != 0);
    int at = 0, sum = 0;
    Scan(scan).ExclusiveSum(take ? 1 : 0, at, sum);
    if (take && base + at < rows) {
      const int64_t c = slot / d.t, i = kept_prior[n * per_image + slot];
      const float4 b = box_at(boxes, d, n, i, d.l == 1 ? 0 : c);
      const float row[7] = {
          static_cast<float>(n), static_cast<float>(c), kept_score[n * per_image + slot], b.x, b.y, b.z, b.w};
      for (int k = 0; k < 7; ++k) store_any(out, out_elem, (n * rows + base + at) * 7 + k, row[k]);
    }
    base += sum;
    __syncthreads();  // the scan's storage is reused
  }
  for (int64_t r = base + threadIdx.x; r < rows; r += kRowThreads) {
    for (int k = 0; k < 7; ++k)
      store_any(out, out_elem, (n * rows + r) * 7 + k, k == 0 ? static_cast<float>(n) : -1.0f);
  }
}

class DetectionOutputOp final : public CudaOp {
 public:
  DetectionOutputOp() = default;
  /// Reads and checks the node (make<DetectionOutputOp>, op.h).
  Status init(const CudaOpInit& init);

  size_t workspace_bytes(int batch) const override {
    Workspace w;
    return layout(batch, &w).is_ok() ? w.total : 0;
  }

  Status run(const RunArgs& args) const override {
    Workspace w;
    TRTN_TRY(layout(args.batch, &w));
    const Dims d = dims(args.batch);
    char* ws = static_cast<char*>(args.workspace);
    auto at = [&](size_t off) { return ws + off; };
    float4* boxes = reinterpret_cast<float4*>(at(w.boxes));
    const int64_t decode_items = d.n * d.p * d.l;
    decode_kernel<<<grid_for(decode_items, kMapThreads), kMapThreads, 0, args.stream>>>(
        args.in[0].data, args.in[0].elem, args.in[2].data, args.in[2].elem, boxes, d, p_.code, p_.variance_encoded,
        p_.clip);
    TRTN_TRY(TRTN_CUDA_STATUS(cudaGetLastError()));
    float* keys = reinterpret_cast<float*>(at(w.keys_in));
    float* keys_sorted = reinterpret_cast<float*>(at(w.keys_out));
    int* vals = reinterpret_cast<int*>(at(w.vals_in));
    int* vals_sorted = reinterpret_cast<int*>(at(w.vals_out));
    int* offsets = reinterpret_cast<int*>(at(w.offsets));
    const int64_t segments = d.n * d.c;
    candidates_kernel<<<grid_for(std::max(d.items1(), segments + 1), kMapThreads), kMapThreads, 0, args.stream>>>(
        args.in[1].data, args.in[1].elem, keys, vals, offsets, d, p_.background, p_.confidence_threshold);
    TRTN_TRY(TRTN_CUDA_STATUS(cudaGetLastError()));
    size_t temp = w.temp_bytes;
    TRTN_TRY(sort_segments_descending(at(w.temp), &temp, keys, keys_sorted, vals, vals_sorted, d.items1(), segments,
                                      offsets, args.stream));
    int* kept_count = reinterpret_cast<int*>(at(w.kept_count));
    int* kept_prior = reinterpret_cast<int*>(at(w.kept_prior));
    float* kept_score = reinterpret_cast<float*>(at(w.kept_score));
    nms_kernel<<<static_cast<unsigned>(segments), kNmsThreads, 0, args.stream>>>(
        keys_sorted, vals_sorted, boxes, kept_count, kept_prior, kept_score, d, p_.nms_threshold, p_.eta);
    TRTN_TRY(TRTN_CUDA_STATUS(cudaGetLastError()));
    const unsigned char* chosen = nullptr;
    if (p_.keep_top_k >= 0 && d.items2() > 0) {
      float* keys2 = reinterpret_cast<float*>(at(w.keys2_in));
      float* keys2_sorted = reinterpret_cast<float*>(at(w.keys2_out));
      int* vals2 = reinterpret_cast<int*>(at(w.vals2_in));
      int* vals2_sorted = reinterpret_cast<int*>(at(w.vals2_out));
      int* offsets2 = reinterpret_cast<int*>(at(w.offsets2));
      unsigned char* marks = reinterpret_cast<unsigned char*>(at(w.chosen));
      kept_keys_kernel<<<grid_for(std::max(d.items2(), d.n + 1), kMapThreads), kMapThreads, 0, args.stream>>>(
          kept_count, kept_score, keys2, vals2, offsets2, d);
      TRTN_TRY(TRTN_CUDA_STATUS(cudaGetLastError()));
      size_t temp2 = w.temp2_bytes;
      TRTN_TRY(sort_segments_descending(at(w.temp2), &temp2, keys2, keys2_sorted, vals2, vals2_sorted, d.items2(), d.n,
                                        offsets2, args.stream));
      choose_kernel<<<grid_for(d.items2(), kMapThreads), kMapThreads, 0, args.stream>>>(keys2_sorted, vals2_sorted,
                                                                                        marks, d, p_.keep_top_k);
      TRTN_TRY(TRTN_CUDA_STATUS(cudaGetLastError()));
      chosen = marks;
    }
    rows_kernel<<<static_cast<unsigned>(d.n), kRowThreads, 0, args.stream>>>(
        kept_count, kept_prior, kept_score, chosen, boxes, args.out[0].data, args.out[0].elem, d, p_.max_detections);
    return TRTN_CUDA_STATUS(cudaGetLastError());
  }

 private:
  Dims dims(int batch) const { return {batch, p_.num_priors, p_.loc_classes, p_.num_classes, p_.per_class()}; }

  /// plan(batch), worked out once per batch size (CUB's size queries stay off the run path).
  Status layout(int batch, Workspace* w) const {
    return layouts_.get(batch, w, [this](int b, Workspace* fresh) { return plan(b, fresh); });
  }

  /// The workspace of a run at `batch`, with CUB's scratch sizes.
  Status plan(int batch, Workspace* w) const {
    const Dims d = dims(batch);
    if (d.items1() >= kMaxLaunchItems || d.n * d.p * d.l >= kMaxLaunchItems) {
      return init_error(
          "has " + std::to_string(d.items1()) +
          " (image, class, prior) scores at this batch, beyond the kernels' 2^31 range; use a smaller batch");
    }
    const int segments = static_cast<int>(d.n * d.c);
    TRTN_TRY(sort_segments_descending(nullptr, &w->temp_bytes, nullptr, nullptr, nullptr, nullptr, d.items1(), segments,
                                      nullptr));
    if (d.items2() > 0) {
      TRTN_TRY(sort_segments_descending(nullptr, &w->temp2_bytes, nullptr, nullptr, nullptr, nullptr, d.items2(), d.n,
                                        nullptr));
    }
    WorkspaceCursor cur;
    const size_t i1 = static_cast<size_t>(d.items1()), i2 = static_cast<size_t>(d.items2());
    w->boxes = cur.take(static_cast<size_t>(d.n * d.p * d.l) * sizeof(float4));
    w->keys_in = cur.take(i1 * sizeof(float));
    w->keys_out = cur.take(i1 * sizeof(float));
    w->vals_in = cur.take(i1 * sizeof(int));
    w->vals_out = cur.take(i1 * sizeof(int));
    w->offsets = cur.take((static_cast<size_t>(segments) + 1) * sizeof(int));
    w->temp = cur.take(w->temp_bytes);
    w->kept_count = cur.take(static_cast<size_t>(segments) * sizeof(int));
    w->kept_prior = cur.take(i2 * sizeof(int));
    w->kept_score = cur.take(i2 * sizeof(float));
    if (p_.keep_top_k >= 0) {
      w->keys2_in = cur.take(i2 * sizeof(float));
      w->keys2_out = cur.take(i2 * sizeof(float));
      w->vals2_in = cur.take(i2 * sizeof(int));
      w->vals2_out = cur.take(i2 * sizeof(int));
      w->offsets2 = cur.take((static_cast<size_t>(d.n) + 1) * sizeof(int));
      w->temp2 = cur.take(w->temp2_bytes);
      w->chosen = cur.take(i2);
    }
    w->total = cur.end;
    return Status::ok();
  }

  Status init_error(const std::string& what) const {
    return Status(Code::kInvalidArgument, "cuda backend, node '" + name_ + "' (DetectionOutput): " + what);
  }

  std::string name_;
  DetectionOutputParams p_;
  LayoutCache<Workspace> layouts_;
};

Status DetectionOutputOp::init(const CudaOpInit& init) {
  DetectionOutputParams p;
  Status st = read_detection_output_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_detection_output(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make<DetectionOutputOp>(init, out);
}

}  // namespace trtn::cuda
