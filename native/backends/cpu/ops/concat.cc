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
#include "core/numeric.h"

namespace trtn::cpu {
namespace {

/// How one input's values reach the output.
enum class Mode { kCopyFloat, kCopyInt8, kRequantize, kDequantize };

struct Part {
  int64_t row = 0;     // elements of this input per output row
  int64_t offset = 0;  // where they start in the output row
  Mode mode = Mode::kCopyFloat;
  float factor = 1;    // R_i for kRequantize, s_i for kDequantize
};

class Concat final : public CpuOp {
 public:
  /// rows_per_image: rows of the concatenation per image (the dims before the axis).
  Concat(std::string name, std::vector<Part> parts, int64_t rows_per_image, int64_t out_row)
      : name_(std::move(name)), parts_(std::move(parts)), rows_(rows_per_image), out_row_(out_row) {}

  Status run(const OpArgs& args) const override {
    try {
      const int64_t rows = args.batch * rows_;
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, out_row_));
      args.pool.parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
        for (size_t i = 0; i < parts_.size(); ++i) {
          const Part& p = parts_[i];
          for (int64_t r = begin; r < end; ++r) copy(p, args.in[i], r * p.row, args.out[0], r * out_row_ + p.offset);
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (Concat): out of host memory");
    }
  }

 private:
  static void copy(const Part& p, const void* in, int64_t in_at, void* out, int64_t out_at) {
    switch (p.mode) {
      case Mode::kCopyFloat:
        std::memcpy(static_cast<float*>(out) + out_at, static_cast<const float*>(in) + in_at,
                    static_cast<size_t>(p.row) * sizeof(float));
        break;
      case Mode::kCopyInt8:
        std::memcpy(static_cast<int8_t*>(out) + out_at, static_cast<const int8_t*>(in) + in_at,
                    static_cast<size_t>(p.row));
        break;
      case Mode::kRequantize: {
        const int8_t* q = static_cast<const int8_t*>(in) + in_at;
        int8_t* y = static_cast<int8_t*>(out) + out_at;
        for (int64_t j = 0; j < p.row; ++j) y[j] = numeric::saturate_int8(static_cast<float>(q[j]) * p.factor);
        break;
      }
      case Mode::kDequantize: {
        const int8_t* q = static_cast<const int8_t*>(in) + in_at;
        float* y = static_cast<float*>(out) + out_at;
        for (int64_t j = 0; j < p.row; ++j) y[j] = static_cast<float>(q[j]) * p.factor;
        break;
      }
    }
  }

  std::string name_;
  std::vector<Part> parts_;
  int64_t rows_, out_row_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  const size_t n = init.node.inputs.size();
  if (n < 1 || init.node.outputs.size() != 1) return init.error("expects 1 or more inputs and 1 output");
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  int64_t axis = 0;
  Status st = init.attr_int("axis", &axis);
  if (!st.is_ok()) return st;
  const TensorDesc& y = init.output(0);
  const int64_t rank = static_cast<int64_t>(y.dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return init.error("axis is out of range for a " + std::to_string(rank) + "-D output");
  // Along the batch the output would not keep the batch in dimension 0.
  if (axis == 0) return init.error("cannot concatenate along the batch dimension (axis 0)");
  const size_t a = static_cast<size_t>(axis - 1);  // the axis among the per-image dims

  int64_t rows = 1;
  for (size_t d = 0; d < a; ++d) rows *= y.dims[d];
  int64_t along = 0;
  std::vector<Part> parts(n);
  const bool int8 = init.node.precision == Precision::kINT8;
  if (int8 && y.dtype == DType::kInt8 && !(y.scale > 0)) return init.error("the int8 output has no scale");
  if (!int8 && y.dtype != DType::kFloat32) return init.error("a float node needs a float32 output");
  int64_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    const TensorDesc& x = init.input(i);
    if (x.dims.size() != y.dims.size()) {
      return init.error("input '" + x.name + "' has a different rank from the output");
    }
    for (size_t d = 0; d < y.dims.size(); ++d) {
      if (d != a && x.dims[d] != y.dims[d]) {
        return init.error("input '" + x.name + "' must match the output outside axis " + std::to_string(axis));
      }
    }
    along += x.dims[a];
    Part& p = parts[i];
    p.row = x.volume / rows;
    p.offset = offset;
    offset += p.row;
    if (!int8) {
      if (x.dtype != DType::kFloat32) return init.error("a float node needs float32 inputs; '" + x.name + "' is int8");
      p.mode = Mode::kCopyFloat;
      continue;
    }
    if (x.dtype != DType::kInt8) return init.error("an INT8 node needs int8 inputs; '" + x.name + "' is float32");
    if (y.dtype == DType::kFloat32) {
      p.mode = Mode::kDequantize;
      p.factor = x.scale;
    } else if (x.scale == y.scale) {
      p.mode = Mode::kCopyInt8;
    } else {
      // R_i = float32(s_i / s_y), the division in double (docs/int8.md).
      p.mode = Mode::kRequantize;
      p.factor = static_cast<float>(static_cast<double>(x.scale) / static_cast<double>(y.scale));
    }
  }
  if (along != y.dims[a]) return init.error("the inputs' sizes along the axis do not add up to the output's");
  *out = std::make_unique<Concat>(init.node.name, std::move(parts), rows, offset);
  return Status::ok();
}

}  // namespace

Status make_concat(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  try {
    return create(init, out);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "cpu backend, node '" + init.node.name + "' (Concat): out of host memory");
  }
}

}  // namespace trtn::cpu
