// Concat along one axis (Caffe's ConcatLayer), float32 or INT8 (docs/int8.md): an int8 output
// takes each input's values unchanged when the scales agree and requantizes them otherwise; a
// float32 output dequantizes each input with its own scale.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/concat_params.h"
#include "core/numeric.h"

namespace trtn::cpu {
namespace {

class Concat final : public CpuOp {
 public:
  /// rows_per_image: rows of the concatenation per image (the dims before the axis).
  Status init(const OpInit& init) {
    ConcatParams p;
    TRTN_TRY(read_concat_params(init, &p));
    name_ = init.node.name;
    parts_ = std::move(p.parts);
    rows_ = p.rows;
    out_row_ = p.out_row;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    try {
      const int64_t rows = args.batch * rows_;
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, out_row_));
      args.pool.parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
        for (size_t i = 0; i < parts_.size(); ++i) {
          const ConcatPart& p = parts_[i];
          for (int64_t r = begin; r < end; ++r) copy(p, args.in[i], r * p.row, args.out[0], r * out_row_ + p.offset);
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (Concat): out of host memory");
    }
  }

 private:
  static void copy(const ConcatPart& p, const void* in, int64_t in_at, void* out, int64_t out_at) {
    switch (p.mode) {
      case ConcatMode::kCopyFloat:
        std::memcpy(static_cast<float*>(out) + out_at, static_cast<const float*>(in) + in_at,
                    static_cast<size_t>(p.row) * sizeof(float));
        break;
      case ConcatMode::kCopyInt8:
        std::memcpy(static_cast<int8_t*>(out) + out_at, static_cast<const int8_t*>(in) + in_at,
                    static_cast<size_t>(p.row));
        break;
      case ConcatMode::kRequantize: {
        const int8_t* q = static_cast<const int8_t*>(in) + in_at;
        int8_t* y = static_cast<int8_t*>(out) + out_at;
        for (int64_t j = 0; j < p.row; ++j) y[j] = numeric::saturate_int8(static_cast<float>(q[j]) * p.factor);
        break;
      }
      case ConcatMode::kDequantize: {
        const int8_t* q = static_cast<const int8_t*>(in) + in_at;
        float* y = static_cast<float*>(out) + out_at;
        for (int64_t j = 0; j < p.row; ++j) y[j] = static_cast<float>(q[j]) * p.factor;
        break;
      }
    }
  }

  std::string name_;
  std::vector<ConcatPart> parts_;
  int64_t rows_ = 0, out_row_ = 0;
};

}  // namespace

Status make_concat(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Concat>(init, out); }

}  // namespace trtn::cpu
