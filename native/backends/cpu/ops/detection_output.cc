// DetectionOutput (core/detection_output_params.h) on the host, one image per task: decode, then
// per class the candidates sorted (score descending, prior ascending), top_k, greedy NMS; then
// keep_top_k over the classes and the rows.
#include <algorithm>
#include <memory>
#include <new>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/detection_output_params.h"

namespace trtn::cpu {
namespace {

/// One kept detection: class, prior, score and its place in the class's NMS order.
struct Kept {
  int64_t label, prior, pos;
  float score;
};

class DetectionOutputOp final : public CpuOp {
 public:
  Status init(const OpInit& init) { return read_detection_output_params(init, &p_); }

  Status run(const OpArgs& args) const override {
    try {
      args.pool.parallel_for(args.batch, 1, [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n) run_image(args, n);
      });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running DetectionOutput");
    }
    return Status::ok();
  }

 private:
  void run_image(const OpArgs& args, int64_t n) const {
    const DetectionOutputParams& p = p_;
    const int64_t P = p.num_priors, L = p.loc_classes, C = p.num_classes;
    const float* loc = static_cast<const float*>(args.in[0]) + n * P * L * 4;
    const float* conf = static_cast<const float*>(args.in[1]) + n * P * C;
    const float* prior = static_cast<const float*>(args.in[2]) + n * 2 * P * 4;
    std::vector<float> boxes(static_cast<size_t>(P * L * 4));
    for (int64_t i = 0; i < P; ++i) {
      for (int64_t l = 0; l < L; ++l) {
        float* b = &boxes[static_cast<size_t>((i * L + l) * 4)];
        decode_box(p.code, p.variance_encoded, prior + i * 4, prior + (P + i) * 4, loc + (i * L + l) * 4, b);
        if (p.clip)
          for (int k = 0; k < 4; ++k) b[k] = std::min(std::max(b[k], 0.0f), 1.0f);
      }
    }
    std::vector<Kept> kept;
    std::vector<int64_t> cand, mine;
    for (int64_t c = 0; c < C; ++c) {
      if (c == p.background) continue;
      const int64_t l = L == 1 ? 0 : c;
      cand.clear();
      for (int64_t i = 0; i < P; ++i) {
        if (conf[i * C + c] > p.confidence_threshold) cand.push_back(i);
      }
      std::stable_sort(cand.begin(), cand.end(),
                       [&](int64_t a, int64_t b) { return conf[a * C + c] > conf[b * C + c]; });
      if (static_cast<int64_t>(cand.size()) > p.per_class()) cand.resize(static_cast<size_t>(p.per_class()));
      mine.clear();
      float threshold = p.nms_threshold;
      for (int64_t i : cand) {
        const float* bi = &boxes[static_cast<size_t>((i * L + l) * 4)];
        bool keep = true;
        for (size_t k = 0; k < mine.size() && keep; ++k) {
          keep = box_iou(bi, &boxes[static_cast<size_t>((mine[k] * L + l) * 4)]) <= threshold;
        }
        if (!keep) continue;
        kept.push_back({c, i, static_cast<int64_t>(mine.size()), conf[i * C + c]});
        mine.push_back(i);
        if (p.eta < 1 && threshold > 0.5f) threshold *= p.eta;
      }
    }
    if (p.keep_top_k >= 0 && static_cast<int64_t>(kept.size()) > p.keep_top_k) {
      // kept is in (label, pos) order, so a stable sort by score breaks ties by label, then pos.
      std::vector<size_t> order(kept.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return kept[a].score > kept[b].score; });
      std::vector<bool> chosen(kept.size(), false);
      for (int64_t i = 0; i < p.keep_top_k; ++i) chosen[order[static_cast<size_t>(i)]] = true;
      std::vector<Kept> rows;
      for (size_t i = 0; i < kept.size(); ++i) {
        if (chosen[i]) rows.push_back(kept[i]);
      }
      kept.swap(rows);
    }
    float* y = static_cast<float*>(args.out[0]) + n * p.max_detections * 7;
    for (int64_t r = 0; r < p.max_detections; ++r) {
      float* row = y + r * 7;
      std::fill(row, row + 7, -1.0f);
      row[0] = static_cast<float>(n);
      if (r >= static_cast<int64_t>(kept.size())) continue;
      const Kept& k = kept[static_cast<size_t>(r)];
      const int64_t l = L == 1 ? 0 : k.label;
      const float* b = &boxes[static_cast<size_t>((k.prior * L + l) * 4)];
      row[1] = static_cast<float>(k.label);
      row[2] = k.score;
      std::copy(b, b + 4, row + 3);
    }
  }

  DetectionOutputParams p_;
};

}  // namespace

Status make_detection_output(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return make<DetectionOutputOp>(init, out);
}

}  // namespace trtn::cpu
