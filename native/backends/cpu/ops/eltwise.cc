// Eltwise (Caffe's EltwiseLayer) over two or more inputs of one shape: PROD, SUM with per-input
// coefficients, MAX; a fused ReLU (node.activation) applies to the result. INT8 SUM follows
// docs/int8.md: acc = fma(float(q_i), C_i, acc) in input order, then ReLU, then saturate (int8
// output) or acc itself (float32 output).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/eltwise_params.h"
#include "core/numeric.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = int64_t{1} << 14;

Status out_of_memory(const std::string& node) {
  return Status(Code::kOutOfMemory, "cpu backend, node '" + node + "' (Eltwise): out of host memory");
}

inline float relu(float v, float slope) { return v > 0.0f ? v : v * slope; }

class FloatEltwise final : public CpuOp {
 public:
  FloatEltwise(std::string name, EltwiseOp op, std::vector<float> coeff, int64_t volume, Activation act)
      : name_(std::move(name)), op_(op), coeff_(std::move(coeff)), volume_(volume), act_(act) {}

  Status run(const OpArgs& args) const override {
    try {
      float* y = static_cast<float*>(args.out[0]);
      const size_t n = args.in.size();
      args.pool.parallel_for(args.batch * volume_, kGrain, [&](int64_t begin, int64_t end) {
        const float* x0 = static_cast<const float*>(args.in[0]);
        const float* x1 = static_cast<const float*>(args.in[1]);
        // Caffe's order: the first two inputs start the result, the others fold in one by one.
        for (int64_t j = begin; j < end; ++j) {
          switch (op_) {
            case EltwiseOp::kProd: y[j] = x0[j] * x1[j]; break;
            case EltwiseOp::kSum: y[j] = coeff_[0] * x0[j] + coeff_[1] * x1[j]; break;
            case EltwiseOp::kMax: y[j] = x0[j] > x1[j] ? x0[j] : x1[j]; break;
          }
        }
        for (size_t i = 2; i < n; ++i) {
          const float* x = static_cast<const float*>(args.in[i]);
          const float c = coeff_[i];
          for (int64_t j = begin; j < end; ++j) {
            switch (op_) {
              case EltwiseOp::kProd: y[j] *= x[j]; break;
              case EltwiseOp::kSum: y[j] += c * x[j]; break;
              case EltwiseOp::kMax:
                if (x[j] > y[j]) y[j] = x[j];
                break;
            }
          }
        }
        if (act_.relu) {
          for (int64_t j = begin; j < end; ++j) y[j] = relu(y[j], act_.negative_slope);
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_);
    }
  }

 private:
  std::string name_;
  EltwiseOp op_;
  std::vector<float> coeff_;
  int64_t volume_;
  Activation act_;
};

class Int8EltwiseSum final : public CpuOp {
 public:
  /// multipliers: C_i per input (already divided by s_y for an int8 output).
  Int8EltwiseSum(std::string name, std::vector<float> multipliers, int64_t volume, Activation act, bool float_out)
      : name_(std::move(name)), c_(std::move(multipliers)), volume_(volume), act_(act), float_out_(float_out) {}

  Status run(const OpArgs& args) const override {
    try {
      const size_t n = args.in.size();
      args.pool.parallel_for(args.batch * volume_, kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
          float acc = 0.0f;
          for (size_t i = 0; i < n; ++i) {
            acc = std::fma(static_cast<float>(static_cast<const int8_t*>(args.in[i])[j]), c_[i], acc);
          }
          if (act_.relu) acc = relu(acc, act_.negative_slope);
          if (float_out_) {
            static_cast<float*>(args.out[0])[j] = acc;
          } else {
            static_cast<int8_t*>(args.out[0])[j] = numeric::saturate_int8(acc);
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_);
    }
  }

 private:
  std::string name_;
  std::vector<float> c_;
  int64_t volume_;
  Activation act_;
  bool float_out_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  EltwiseParams p;
  TRTN_TRY(read_eltwise_params(init, &p));
  const int64_t volume = init.output(0).volume;
  if (p.int8) {
    *out = std::make_unique<Int8EltwiseSum>(init.node.name, std::move(p.multipliers), volume, init.node.activation,
                                            p.float_out);
  } else {
    *out = std::make_unique<FloatEltwise>(init.node.name, p.op, std::move(p.coeff), volume, init.node.activation);
  }
  return Status::ok();
}

}  // namespace

Status make_eltwise(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return guard_host_memory(init, [&] { return create(init, out); });
}

}  // namespace trtn::cpu
