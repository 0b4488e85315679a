// Faster R-CNN's region layers (core/roi_params.h): ROIPooling, PSROIPooling and Proposal on the
// cpu backend. A task per region for the poolings; a task per image for Proposal.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/roi_params.h"

namespace trtn::cpu {
namespace {

/// The image a region row names, or -1 when it names none (padding rows, bad indices).
int64_t region_image(const float* roi, int64_t images) {
  const float b = roi[0];
  if (!(b >= 0) || b >= static_cast<float>(images) || b != std::floor(b)) return -1;
  return static_cast<int64_t>(b);
}

int64_t clamp(int64_t v, int64_t hi) { return std::min(std::max<int64_t>(v, 0), hi); }

/// Runs fn(n, roi, out) for every region row of the batch (a pool task per region) with its image
/// n and its `per_region` outputs; rows that name no image get zeros.
template <class F>
void for_each_region(const OpArgs& args, int64_t rows, int64_t per_region, F fn) {
  const auto* rois = static_cast<const float*>(args.in[1]);
  auto* y = static_cast<float*>(args.out[0]);
  const int64_t images = args.batch;
  args.pool.parallel_for(args.batch * rows, 1, [=](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      float* out = y + k * per_region;
      const int64_t n = region_image(rois + k * 5, images);
      if (n < 0) {
        std::fill(out, out + per_region, 0.0f);
      } else {
        fn(n, rois + k * 5, out);
      }
    }
  });
}

/// The [start, end) of each of `count` bins along an axis of `size`, clamped to the axis:
/// start(i) and end(i) give the unclamped edges. Worked out once per region, for every channel.
template <class Start, class End>
void bin_edges(int64_t count, int64_t size, Start start, End end, std::vector<int64_t>* lo, std::vector<int64_t>* hi) {
  lo->resize(static_cast<size_t>(count));
  hi->resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    (*lo)[static_cast<size_t>(i)] = clamp(start(i), size);
    (*hi)[static_cast<size_t>(i)] = clamp(end(i), size);
  }
}

class RoiPoolingOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_roi_pooling_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const RoiPoolingParams p = p_;
    const auto* x = static_cast<const float*>(args.in[0]);
    const int64_t plane = p.height * p.width;
    for_each_region(args, p.rows, p.channels * p.pooled_h * p.pooled_w, [=](int64_t n, const float* roi, float* out) {
      const auto sw = static_cast<int64_t>(std::round(roi[1] * p.spatial_scale));
      const auto sh = static_cast<int64_t>(std::round(roi[2] * p.spatial_scale));
      const auto ew = static_cast<int64_t>(std::round(roi[3] * p.spatial_scale));
      const auto eh = static_cast<int64_t>(std::round(roi[4] * p.spatial_scale));
      const float bh = static_cast<float>(std::max<int64_t>(eh - sh + 1, 1)) / static_cast<float>(p.pooled_h);
      const float bw = static_cast<float>(std::max<int64_t>(ew - sw + 1, 1)) / static_cast<float>(p.pooled_w);
      std::vector<int64_t> h0, h1, w0, w1;
      auto floor_at = [](int64_t i, float b, int64_t s) {
        return static_cast<int64_t>(std::floor(static_cast<float>(i) * b)) + s;
      };
      auto ceil_at = [](int64_t i, float b, int64_t s) {
        return static_cast<int64_t>(std::ceil(static_cast<float>(i) * b)) + s;
      };
      bin_edges(
          p.pooled_h, p.height, [&](int64_t i) { return floor_at(i, bh, sh); },
          [&](int64_t i) { return ceil_at(i + 1, bh, sh); }, &h0, &h1);
      bin_edges(
          p.pooled_w, p.width, [&](int64_t j) { return floor_at(j, bw, sw); },
          [&](int64_t j) { return ceil_at(j + 1, bw, sw); }, &w0, &w1);
      for (int64_t c = 0; c < p.channels; ++c) {
        const float* in = x + (n * p.channels + c) * plane;
        for (int64_t i = 0; i < p.pooled_h; ++i) {
          const int64_t hs = h0[static_cast<size_t>(i)], he = h1[static_cast<size_t>(i)];
          for (int64_t j = 0; j < p.pooled_w; ++j) {
            const int64_t ws = w0[static_cast<size_t>(j)], we = w1[static_cast<size_t>(j)];
            float m = -std::numeric_limits<float>::max();
            for (int64_t h = hs; h < he; ++h)
              for (int64_t w = ws; w < we; ++w) m = std::max(m, in[h * p.width + w]);
            out[(c * p.pooled_h + i) * p.pooled_w + j] = (he <= hs || we <= ws) ? 0.0f : m;
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  RoiPoolingParams p_;
};

class PsRoiPoolingOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_psroi_pooling_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const PsRoiPoolingParams p = p_;
    const auto* x = static_cast<const float*>(args.in[0]);
    const int64_t plane = p.height * p.width, g = p.group;
    for_each_region(args, p.rows, p.output_dim * g * g, [=](int64_t n, const float* roi, float* out) {
      const float sw = std::round(roi[1]) * p.spatial_scale, sh = std::round(roi[2]) * p.spatial_scale;
      const float ew = (std::round(roi[3]) + 1.0f) * p.spatial_scale,
                  eh = (std::round(roi[4]) + 1.0f) * p.spatial_scale;
      const float bh = std::max(eh - sh, 0.1f) / static_cast<float>(g);
      const float bw = std::max(ew - sw, 0.1f) / static_cast<float>(g);
      std::vector<int64_t> h0, h1, w0, w1;
      auto floor_at = [](int64_t i, float b, float s) {
        return static_cast<int64_t>(std::floor(static_cast<float>(i) * b + s));
      };
      auto ceil_at = [](int64_t i, float b, float s) {
        return static_cast<int64_t>(std::ceil(static_cast<float>(i) * b + s));
      };
      bin_edges(
          g, p.height, [&](int64_t i) { return floor_at(i, bh, sh); },
          [&](int64_t i) { return ceil_at(i + 1, bh, sh); }, &h0, &h1);
      bin_edges(
          g, p.width, [&](int64_t j) { return floor_at(j, bw, sw); }, [&](int64_t j) { return ceil_at(j + 1, bw, sw); },
          &w0, &w1);
      for (int64_t ct = 0; ct < p.output_dim; ++ct) {
        for (int64_t i = 0; i < g; ++i) {
          const int64_t hs = h0[static_cast<size_t>(i)], he = h1[static_cast<size_t>(i)];
          for (int64_t j = 0; j < g; ++j) {
            const int64_t ws = w0[static_cast<size_t>(j)], we = w1[static_cast<size_t>(j)];
            const float* in = x + (n * p.channels + (ct * g + i) * g + j) * plane;
            double sum = 0;
            for (int64_t h = hs; h < he; ++h)
              for (int64_t w = ws; w < we; ++w) sum += in[h * p.width + w];
            const int64_t area = (he - hs) * (we - ws);
            out[(ct * g + i) * g + j] = area > 0 ? static_cast<float>(sum / static_cast<double>(area)) : 0.0f;
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  PsRoiPoolingParams p_;
};

class ProposalOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_proposal_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    const auto* scores = static_cast<const float*>(args.in[0]);
    const auto* deltas = static_cast<const float*>(args.in[1]);
    const auto* info = static_cast<const float*>(args.in[2]);
    auto* rois = static_cast<float*>(args.out[0]);
    float* kept_scores = args.out.size() > 1 ? static_cast<float*>(args.out[1]) : nullptr;
    args.pool.parallel_for(args.batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) image(n, scores, deltas, info, rois, kept_scores);
    });
    return Status::ok();
  }

 private:
  struct Box {
    float b[4];
    float score;
  };

  void image(int64_t n, const float* scores, const float* deltas, const float* info, float* rois,
             float* kept_scores) const {
    const ProposalParams& p = p_;
    const auto a = static_cast<int64_t>(p.anchors.size());
    const int64_t plane = p.height * p.width;
    const float im_h = info[n * 3], im_w = info[n * 3 + 1], min_size = p.min_size * info[n * 3 + 2];
    const float* sc = scores + n * 2 * a * plane;
    const float* dl = deltas + n * 4 * a * plane;
    std::vector<Box> boxes;
    boxes.reserve(static_cast<size_t>(a * plane));
    auto clip = [](float v, float hi) { return std::max(std::min(v, hi), 0.0f); };
    for (int64_t cell = 0; cell < plane; ++cell) {
      const float sx = static_cast<float>(cell % p.width) * p.feat_stride;
      const float sy = static_cast<float>(cell / p.width) * p.feat_stride;
      for (int64_t k = 0; k < a; ++k) {
        const auto& an = p.anchors[static_cast<size_t>(k)];
        const float x1 = an[0] + sx, y1 = an[1] + sy, x2 = an[2] + sx, y2 = an[3] + sy;
        const float w = x2 - x1 + 1.0f, h = y2 - y1 + 1.0f;
        const float cx = x1 + 0.5f * w, cy = y1 + 0.5f * h;
        const float dx = dl[(4 * k) * plane + cell], dy = dl[(4 * k + 1) * plane + cell];
        const float dw = dl[(4 * k + 2) * plane + cell], dh = dl[(4 * k + 3) * plane + cell];
        const float pcx = dx * w + cx, pcy = dy * h + cy;
        // exp in double, rounded once to float (the cuda kernel computes it the same way, so both
        // backends give the same boxes; libm's expf is within 0.502 ulp, not correctly rounded).
        const float pw = static_cast<float>(std::exp(static_cast<double>(dw))) * w;
        const float ph = static_cast<float>(std::exp(static_cast<double>(dh))) * h;
        Box b{{clip(pcx - 0.5f * pw, im_w - 1.0f), clip(pcy - 0.5f * ph, im_h - 1.0f),
               clip(pcx + 0.5f * pw, im_w - 1.0f), clip(pcy + 0.5f * ph, im_h - 1.0f)},
              sc[(a + k) * plane + cell]};
        // Dropped boxes keep their place with a -inf score: the order stays the anchor index's.
        if (b.b[2] - b.b[0] + 1.0f < min_size || b.b[3] - b.b[1] + 1.0f < min_size) b.score = -INFINITY;
        boxes.push_back(b);
      }
    }
    std::vector<int64_t> order(boxes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t u, int64_t v) { return boxes[u].score > boxes[v].score; });
    auto area = [](const Box& b) { return (b.b[2] - b.b[0] + 1.0f) * (b.b[3] - b.b[1] + 1.0f); };
    std::vector<int64_t> kept;
    const int64_t candidates = std::min<int64_t>(p.pre_nms_top_n, static_cast<int64_t>(order.size()));
    for (int64_t i = 0; i < candidates && static_cast<int64_t>(kept.size()) < p.rows; ++i) {
      const Box& c = boxes[static_cast<size_t>(order[static_cast<size_t>(i)])];
      if (c.score == -INFINITY) break;
      bool ok = true;
      for (int64_t j : kept) {
        const Box& k = boxes[static_cast<size_t>(j)];
        const float iw = std::max(0.0f, std::min(c.b[2], k.b[2]) - std::max(c.b[0], k.b[0]) + 1.0f);
        const float ih = std::max(0.0f, std::min(c.b[3], k.b[3]) - std::max(c.b[1], k.b[1]) + 1.0f);
        const float inter = iw * ih;
        if (inter / (area(c) + area(k) - inter) > p.nms_thresh) {
          ok = false;
          break;
        }
      }
      if (ok) kept.push_back(order[static_cast<size_t>(i)]);
    }
    for (int64_t r = 0; r < p.rows; ++r) {
      float* row = rois + (n * p.rows + r) * 5;
      const bool have = r < static_cast<int64_t>(kept.size());
      const Box* b = have ? &boxes[static_cast<size_t>(kept[static_cast<size_t>(r)])] : nullptr;
      row[0] = have ? static_cast<float>(n) : -1.0f;
      for (int k = 0; k < 4; ++k) row[k + 1] = have ? b->b[k] : 0.0f;
      if (kept_scores != nullptr) kept_scores[n * p.rows + r] = have ? b->score : 0.0f;
    }
  }

  ProposalParams p_;
};

}  // namespace

Status make_roi_pooling(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<RoiPoolingOp>(init, out); }
Status make_psroi_pooling(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<PsRoiPoolingOp>(init, out); }
Status make_proposal(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<ProposalOp>(init, out); }

}  // namespace trtn::cpu
