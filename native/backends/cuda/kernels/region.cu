// Faster R-CNN's region layers on the GPU (core/roi_params.h gives their semantics; the cpu
// backend's backends/cpu/ops/roi.cc is the reference every result here equals):
// - ROIPooling / PSROIPooling: one thread per output value (region, channel, bin), the region's
//   image from its first value (rows naming no image give zeros), the bin's window as the cpu
//   computes it (float arithmetic, C rounding), then the maximum / the double-precision mean.
// - Proposal, the whole batch per run: (1) decode every (image, cell, anchor) box and its score
//   into the workspace (float arithmetic without contractions, so the boxes are the cpu's; dropped
//   boxes get score -inf); (2) a stable segmented radix sort (CUB) puts each image's boxes in
//   descending score order, ties keeping the lower anchor index first; (3) one block per image
//   walks its first pre_nms_topN candidates in order, tests each against the boxes kept so far in
//   parallel (__syncthreads_or) and keeps it when no IoU is above the threshold, until
//   post_nms_topN are kept; then writes the rows and the padding rows.
// Region tensors run with n = batch x rows (backends/cuda/op.h: Place::rows).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/segmented_sort.cuh"
#include "core/roi_params.h"

namespace trtn::cuda {
namespace {

constexpr int kNmsThreads = 256;

__device__ __forceinline__ int64_t clamp_dev(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

/// std::min / std::max as the cpu calls them ((b < a) ? b : a, (a < b) ? b : a): a NaN in `a`
/// passes through, where fminf / fmaxf would drop it.
__device__ __forceinline__ float std_min(float a, float b) { return b < a ? b : a; }
__device__ __forceinline__ float std_max(float a, float b) { return a < b ? b : a; }

/// The image a region row names, or -1 (padding rows, bad indices): the cpu's region_image.
__device__ __forceinline__ int64_t region_image(const View4& rois, int64_t k, int64_t images, float* roi) {
  // Dense kLinear rows (check_places): five values from the row's start, whatever its dims.
  for (int e = 0; e < 5; ++e) roi[e] = load_any(rois.data, rois.elem, rois.at(k, 0, 0, 0) + e);
  const float b = roi[0];
  if (!(b >= 0) || b >= static_cast<float>(images) || b != floorf(b)) return -1;
  return static_cast<int64_t>(b);
}

struct PoolDims {
  int64_t regions, channels, height, width, ph, pw, images;
  float scale;
};

__global__ void __launch_bounds__(kMapThreads)
    roi_pool_kernel(const View4 x, const View4 rois, const View4 y, PoolDims d) {
  const int64_t total = d.regions * d.channels * d.ph * d.pw;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = t % d.pw, i = (t / d.pw) % d.ph, c = (t / (d.pw * d.ph)) % d.channels;
    const int64_t k = t / (d.pw * d.ph * d.channels);
    float roi[5];
    const int64_t n = region_image(rois, k, d.images, roi);
    float v = 0.0f;
    if (n >= 0) {
      const auto sw = static_cast<int64_t>(roundf(__fmul_rn(roi[1], d.scale)));
      const auto sh = static_cast<int64_t>(roundf(__fmul_rn(roi[2], d.scale)));
      const auto ew = static_cast<int64_t>(roundf(__fmul_rn(roi[3], d.scale)));
      const auto eh = static_cast<int64_t>(roundf(__fmul_rn(roi[4], d.scale)));
      const float bh = static_cast<float>(max(eh - sh + 1, int64_t{1})) / static_cast<float>(d.ph);
      const float bw = static_cast<float>(max(ew - sw + 1, int64_t{1})) / static_cast<float>(d.pw);
      const int64_t hs = clamp_dev(static_cast<int64_t>(floorf(__fmul_rn(static_cast<float>(i), bh))) + sh, d.height);
      const int64_t he =
          clamp_dev(static_cast<int64_t>(ceilf(__fmul_rn(static_cast<float>(i + 1), bh))) + sh, d.height);
      const int64_t ws = clamp_dev(static_cast<int64_t>(floorf(__fmul_rn(static_cast<float>(j), bw))) + sw, d.width);
      const int64_t we = clamp_dev(static_cast<int64_t>(ceilf(__fmul_rn(static_cast<float>(j + 1), bw))) + sw, d.width);
      float m = -3.402823466e38f;
      for (int64_t h = hs; h < he; ++h) {
        for (int64_t w = ws; w < we; ++w) {
          const float a = load_any(x.data, x.elem, x.at(n, c, h, w));
          m = m < a ? a : m;  // std::max's order: a NaN never replaces the running maximum
        }
      }
      v = (he <= hs || we <= ws) ? 0.0f : m;
    }
    store_any(y.data, y.elem, y.at(k, c, i, j), v);
  }
}

__global__ void __launch_bounds__(kMapThreads)
    psroi_pool_kernel(const View4 x, const View4 rois, const View4 y, PoolDims d, int64_t output_dim) {
  const int64_t g = d.ph;  // group size (square bins)
  const int64_t total = d.regions * output_dim * g * g;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = t % g, i = (t / g) % g, ct = (t / (g * g)) % output_dim, k = t / (g * g * output_dim);
    float roi[5];
    const int64_t n = region_image(rois, k, d.images, roi);
    float v = 0.0f;
    if (n >= 0) {
      const float sw = __fmul_rn(roundf(roi[1]), d.scale), sh = __fmul_rn(roundf(roi[2]), d.scale);
      const float ew = __fmul_rn(roundf(roi[3]) + 1.0f, d.scale);
      const float eh = __fmul_rn(roundf(roi[4]) + 1.0f, d.scale);
      const float bh = std_max(eh - sh, 0.1f) / static_cast<float>(g);
      const float bw = std_max(ew - sw, 0.1f) / static_cast<float>(g);
      const int64_t hs =
          clamp_dev(static_cast<int64_t>(floorf(__fadd_rn(__fmul_rn(static_cast<float>(i), bh), sh))), d.height);
      const int64_t he =
          clamp_dev(static_cast<int64_t>(ceilf(__fadd_rn(__fmul_rn(static_cast<float>(i + 1), bh), sh))), d.height);
      const int64_t ws =
          clamp_dev(static_cast<int64_t>(floorf(__fadd_rn(__fmul_rn(static_cast<float>(j), bw), sw))), d.width);
      const int64_t we =
          clamp_dev(static_cast<int64_t>(ceilf(__fadd_rn(__fmul_rn(static_cast<float>(j + 1), bw), sw))), d.width);
      const int64_t c = (ct * g + i) * g + j;
      double sum = 0;
      for (int64_t h = hs; h < he; ++h) {
        for (int64_t w = ws; w < we; ++w) sum += load_any(x.data, x.elem, x.at(n, c, h, w));
      }
      const int64_t area = (he - hs) * (we - ws);
      v = area > 0 ? static_cast<float>(sum / static_cast<double>(area)) : 0.0f;
    }
    store_any(y.data, y.elem, y.at(k, ct, i, j), v);
  }
}

void launch_roi_pooling(const RoiPoolingParams& p, const RunArgs& args) {
  const View4& y = args.out[0];
  const PoolDims d{y.n, p.channels, p.height, p.width, p.pooled_h, p.pooled_w, args.batch, p.spatial_scale};
  roi_pool_kernel<<<grid_for(d.regions * d.channels * d.ph * d.pw), kMapThreads, 0, args.stream>>>(args.in[0],
                                                                                                   args.in[1], y, d);
}

void launch_psroi_pooling(const PsRoiPoolingParams& p, const RunArgs& args) {
  const View4& y = args.out[0];
  const PoolDims d{y.n, p.channels, p.height, p.width, p.group, p.group, args.batch, p.spatial_scale};
  psroi_pool_kernel<<<grid_for(d.regions * p.output_dim * d.ph * d.pw), kMapThreads, 0, args.stream>>>(
      args.in[0], args.in[1], y, d, p.output_dim);
}

/// ROIPooling / PSROIPooling: the node's parameters (core/roi_params.h) and one launch.
template <class Params, Status (*kRead)(const OpInit&, Params*), void (*kLaunch)(const Params&, const RunArgs&)>
class RegionPoolOp final : public CudaOp {
 public:
  Status init(const CudaOpInit& init) {
    TRTN_TRY(check_places(init, false));
    return kRead(init.node, &p_);
  }
  Status run(const RunArgs& args) const override {
    kLaunch(p_, args);
    return TRTN_CUDA_STATUS(cudaGetLastError());
  }

 private:
  Params p_;
};

using RoiPoolingOp = RegionPoolOp<RoiPoolingParams, read_roi_pooling_params, launch_roi_pooling>;
using PsRoiPoolingOp = RegionPoolOp<PsRoiPoolingParams, read_psroi_pooling_params, launch_psroi_pooling>;

// ---- Proposal ----------------------------------------------------------------------------------

struct ProposalDims {
  int64_t n, a, plane, width;  // images, anchors per cell, cells, cells per feature row
  __host__ __device__ int64_t per_image() const { return a * plane; }
  __host__ __device__ int64_t items() const { return n * a * plane; }
};

/// Every (image, cell, anchor) box (index cell * a + anchor within the image, the cpu's order),
/// its score key (-inf when dropped) and the segment offsets.
__global__ void __launch_bounds__(kMapThreads)
    proposal_decode_kernel(const View4 scores, const View4 deltas, const View4 info, const float4* anchors,
                           float4* boxes, float* keys, int* vals, int* offsets, ProposalDims d, float feat_stride,
                           float min_size) {
  const int64_t items = d.items();
  const int64_t total = items > d.n + 1 ? items : d.n + 1;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (t <= d.n) offsets[t] = static_cast<int>(t * d.per_image());
    if (t >= items) continue;
    const int64_t n = t / d.per_image(), idx = t - n * d.per_image();
    const int64_t cell = idx / d.a, k = idx - cell * d.a;
    const int64_t ch = cell / d.width, cw = cell - ch * d.width;
    const int64_t at_info = info.at(n, 0, 0, 0);  // three dense values per image
    const float im_h = load_any(info.data, info.elem, at_info);
    const float im_w = load_any(info.data, info.elem, at_info + 1);
    const float ms = __fmul_rn(min_size, load_any(info.data, info.elem, at_info + 2));
    const float sx = __fmul_rn(static_cast<float>(cw), feat_stride);
    const float sy = __fmul_rn(static_cast<float>(ch), feat_stride);
    const float4 an = anchors[k];
    const float x1 = __fadd_rn(an.x, sx), y1 = __fadd_rn(an.y, sy), x2 = __fadd_rn(an.z, sx), y2 = __fadd_rn(an.w, sy);
    const float w = __fadd_rn(__fsub_rn(x2, x1), 1.0f), h = __fadd_rn(__fsub_rn(y2, y1), 1.0f);
    const float cx = __fadd_rn(x1, __fmul_rn(0.5f, w)), cy = __fadd_rn(y1, __fmul_rn(0.5f, h));
    const float dx = load_any(deltas.data, deltas.elem, deltas.at(n, 4 * k, ch, cw));
    const float dy = load_any(deltas.data, deltas.elem, deltas.at(n, 4 * k + 1, ch, cw));
    const float dw = load_any(deltas.data, deltas.elem, deltas.at(n, 4 * k + 2, ch, cw));
    const float dh = load_any(deltas.data, deltas.elem, deltas.at(n, 4 * k + 3, ch, cw));
    const float pcx = __fadd_rn(__fmul_rn(dx, w), cx), pcy = __fadd_rn(__fmul_rn(dy, h), cy);
    // exp in double, rounded once to float: the cpu computes it the same way (roi.cc).
    const float pw = __fmul_rn(static_cast<float>(exp(static_cast<double>(dw))), w);
    const float ph = __fmul_rn(static_cast<float>(exp(static_cast<double>(dh))), h);
    auto clip = [](float v, float hi) { return std_max(std_min(v, hi), 0.0f); };
    const float b0 = clip(__fsub_rn(pcx, __fmul_rn(0.5f, pw)), __fsub_rn(im_w, 1.0f));
    const float b1 = clip(__fsub_rn(pcy, __fmul_rn(0.5f, ph)), __fsub_rn(im_h, 1.0f));
    const float b2 = clip(__fadd_rn(pcx, __fmul_rn(0.5f, pw)), __fsub_rn(im_w, 1.0f));
    const float b3 = clip(__fadd_rn(pcy, __fmul_rn(0.5f, ph)), __fsub_rn(im_h, 1.0f));
    boxes[t] = make_float4(b0, b1, b2, b3);
    const float s = load_any(scores.data, scores.elem, scores.at(n, d.a + k, ch, cw));
    const bool dropped = __fadd_rn(__fsub_rn(b2, b0), 1.0f) < ms || __fadd_rn(__fsub_rn(b3, b1), 1.0f) < ms;
    keys[t] = dropped ? -INFINITY : s;
    vals[t] = static_cast<int>(idx);
  }
}

/// IoU test of the cpu's NMS: inter / (area(c) + area(k) - inter) > thresh, every product rounded
/// on its own (no contraction into an fma).
__device__ __forceinline__ bool overlaps(const float4& c, const float4& k, float thresh) {
  const float iw = std_max(0.0f, __fadd_rn(__fsub_rn(std_min(c.z, k.z), std_max(c.x, k.x)), 1.0f));
  const float ih = std_max(0.0f, __fadd_rn(__fsub_rn(std_min(c.w, k.w), std_max(c.y, k.y)), 1.0f));
  const float inter = __fmul_rn(iw, ih);
  const float ac = __fmul_rn(__fadd_rn(__fsub_rn(c.z, c.x), 1.0f), __fadd_rn(__fsub_rn(c.w, c.y), 1.0f));
  const float ak = __fmul_rn(__fadd_rn(__fsub_rn(k.z, k.x), 1.0f), __fadd_rn(__fsub_rn(k.w, k.y), 1.0f));
  return __fdiv_rn(inter, __fsub_rn(__fadd_rn(ac, ak), inter)) > thresh;
}

/// One block per image: greedy NMS over its sorted candidates, then its rows.
__global__ void __launch_bounds__(kNmsThreads)
    proposal_nms_kernel(const float* keys, const int* vals, const float4* boxes, int* kept, const View4 rois,
                        const View4 kept_scores, bool has_scores, ProposalDims d, int64_t pre_nms, int64_t rows,
                        float thresh) {
  __shared__ int count;
  const int64_t n = blockIdx.x;
  const float* k = keys + n * d.per_image();
  const int* v = vals + n * d.per_image();
  const float4* b = boxes + n * d.per_image();
  int* mine = kept + n * rows;
  const int64_t candidates = min(pre_nms, d.per_image());
  if (threadIdx.x == 0) count = 0;
  __syncthreads();
  for (int64_t i = 0; i < candidates && count < rows; ++i) {
    if (k[i] == -INFINITY) break;  // the dropped boxes sort last
    const float4 c = b[v[i]];
    bool suppressed = false;
    const int have = count;
    for (int j = threadIdx.x; j < have && !suppressed; j += blockDim.x) suppressed = overlaps(c, b[v[mine[j]]], thresh);
    suppressed = __syncthreads_or(suppressed);
    if (!suppressed && threadIdx.x == 0) {
      mine[have] = static_cast<int>(i);
      count = have + 1;
    }
    __syncthreads();
  }
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    const bool valid = r < count;
    const float4 box = valid ? b[v[mine[r]]] : make_float4(0, 0, 0, 0);
    const float row[5] = {valid ? static_cast<float>(n) : -1.0f, box.x, box.y, box.z, box.w};
    for (int e = 0; e < 5; ++e) store_any(rois.data, rois.elem, rois.at(n * rows + r, 0, 0, 0) + e, row[e]);
    if (has_scores) {
      store_any(kept_scores.data, kept_scores.elem, kept_scores.at(n * rows + r, 0, 0, 0), valid ? k[mine[r]] : 0.0f);
    }
  }
}

class ProposalOp final : public CudaOp {
 public:
  Status init(const CudaOpInit& init) {
    TRTN_TRY(check_places(init, false));
    name_ = init.node.node.name;
    TRTN_TRY(read_proposal_params(init.node, &p_));
    std::vector<float> a;
    for (const auto& an : p_.anchors) a.insert(a.end(), an.begin(), an.end());
    return anchors_.upload(a, name_ + " anchors");
  }

  size_t workspace_bytes(int batch) const override {
    Workspace w;
    return layout(batch, &w).is_ok() ? w.total : 0;
  }

  Status run(const RunArgs& args) const override {
    Workspace w;
    TRTN_TRY(layout(args.batch, &w));
    const ProposalDims d = dims(args.batch);
    char* ws = static_cast<char*>(args.workspace);
    auto* boxes = reinterpret_cast<float4*>(ws + w.boxes);
    auto* keys = reinterpret_cast<float*>(ws + w.keys_in);
    auto* keys_sorted = reinterpret_cast<float*>(ws + w.keys_out);
    auto* vals = reinterpret_cast<int*>(ws + w.vals_in);
    auto* vals_sorted = reinterpret_cast<int*>(ws + w.vals_out);
    auto* offsets = reinterpret_cast<int*>(ws + w.offsets);
    auto* kept = reinterpret_cast<int*>(ws + w.kept);
    proposal_decode_kernel<<<grid_for(std::max(d.items(), d.n + 1)), kMapThreads, 0, args.stream>>>(
        args.in[0], args.in[1], args.in[2], anchors_.as<float4>(), boxes, keys, vals, offsets, d, p_.feat_stride,
        p_.min_size);
    TRTN_TRY(TRTN_CUDA_STATUS(cudaGetLastError()));
    size_t temp = w.temp_bytes;
    TRTN_TRY(sort_segments_descending(ws + w.temp, &temp, keys, keys_sorted, vals, vals_sorted, d.items(), d.n, offsets,
                                      args.stream));
    const bool has_scores = args.out.size() > 1;
    proposal_nms_kernel<<<static_cast<unsigned>(d.n), kNmsThreads, 0, args.stream>>>(
        keys_sorted, vals_sorted, boxes, kept, args.out[0], has_scores ? args.out[1] : args.out[0], has_scores, d,
        p_.pre_nms_top_n, p_.rows, p_.nms_thresh);
    return TRTN_CUDA_STATUS(cudaGetLastError());
  }

 private:
  struct Workspace {
    size_t boxes = 0, keys_in = 0, keys_out = 0, vals_in = 0, vals_out = 0, offsets = 0, temp = 0, kept = 0;
    size_t temp_bytes = 0, total = 0;
  };

  ProposalDims dims(int batch) const {
    return {batch, static_cast<int64_t>(p_.anchors.size()), p_.height * p_.width, p_.width};
  }

  Status layout(int batch, Workspace* w) const {
    return layouts_.get(batch, w, [this](int b, Workspace* fresh) { return plan(b, fresh); });
  }

  Status plan(int batch, Workspace* w) const {
    const ProposalDims d = dims(batch);
    if (d.items() >= kMaxLaunchItems) {
      return Status(Code::kInvalidArgument,
                    "cuda backend, node '" + name_ + "' (Proposal): " + std::to_string(d.items()) +
                        " boxes at this batch, beyond the kernels' 2^31 range; use a smaller batch");
    }
    TRTN_TRY(
        sort_segments_descending(nullptr, &w->temp_bytes, nullptr, nullptr, nullptr, nullptr, d.items(), d.n, nullptr));
    WorkspaceCursor c;
    const auto items = static_cast<size_t>(d.items());
    w->boxes = c.take(items * sizeof(float4));
    w->keys_in = c.take(items * sizeof(float));
    w->keys_out = c.take(items * sizeof(float));
    w->vals_in = c.take(items * sizeof(int));
    w->vals_out = c.take(items * sizeof(int));
    w->offsets = c.take((static_cast<size_t>(d.n) + 1) * sizeof(int));
    w->temp = c.take(w->temp_bytes);
    w->kept = c.take(static_cast<size_t>(d.n * p_.rows) * sizeof(int));
    w->total = c.end;
    return Status::ok();
  }

  std::string name_;
  ProposalParams p_;
  DeviceBuffer anchors_;  // [anchors][4] float
  LayoutCache<Workspace> layouts_;
};

}  // namespace

Status make_roi_pooling(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<RoiPoolingOp>(init, out); }
Status make_psroi_pooling(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make<PsRoiPoolingOp>(init, out);
}
Status make_proposal(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ProposalOp>(init, out); }

}  // namespace trtn::cuda
