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
#include "core/numeric.h"

namespace trtn::cpu {
namespace {

enum class Operation { kProd, kSum, kMax };

constexpr int64_t kGrain = int64_t{1} << 14;

Status out_of_memory(const std::string& node) {
  return Status(Code::kOutOfMemory, "cpu backend, node '" + node + "' (Eltwise): out of host memory");
}

inline float relu(float v, float slope) { return v > 0.0f ? v : v * slope; }

class FloatEltwise final : public CpuOp {
 public:
  FloatEltwise(std::string name, Operation op, std::vector<float> coeff, int64_t volume, Activation act)
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
            case Operation::kProd: y[j] = x0[j] * x1[j]; break;
            case Operation::kSum: y[j] = coeff_[0] * x0[j] + coeff_[1] * x1[j]; break;
            case Operation::kMax: y[j] = x0[j] > x1[j] ? x0[j] : x1[j]; break;
          }
        }
        for (size_t i = 2; i < n; ++i) {
          const float* x = static_cast<const float*>(args.in[i]);
          const float c = coeff_[i];
          for (int64_t j = begin; j < end; ++j) {
            switch (op_) {
              case Operation::kProd: y[j] *= x[j]; break;
              case Operation::kSum: y[j] += c * x[j]; break;
              case Operation::kMax: if (x[j] > y[j]) y[j] = x[j]; break;
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
  Operation op_;
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
  const size_t n = init.node.inputs.size();
  if (n < 2 || init.node.outputs.size() != 1) return init.error("expects 2 or more inputs and 1 output");
  std::string operation;
  std::vector<double> coeff;
  Status st = init.attr_string("operation", &operation);
  if (!st.is_ok()) return st;
  Operation op;
  if (operation == "PROD") op = Operation::kProd;
  else if (operation == "SUM") op = Operation::kSum;
  else if (operation == "MAX") op = Operation::kMax;
  else return init.error("unknown operation '" + operation + "' (expected PROD, SUM or MAX)");
  if (init.node.attrs.has("coeff")) {
    if (!(st = init.attr_doubles("coeff", &coeff)).is_ok()) return st;
  }
  if (coeff.empty()) coeff.assign(n, 1.0);
  if (coeff.size() != n) {
    return init.error("takes one coefficient per input: " + std::to_string(n) + " inputs, " +
                      std::to_string(coeff.size()) + " coefficients");
  }
  // Caffe holds the coefficients as float; PROD refuses them and MAX ignores them.
  if (op == Operation::kProd && std::any_of(coeff.begin(), coeff.end(), [](double c) { return c != 1.0; })) {
    return init.error("PROD takes no coefficients");
  }
  std::vector<float> c(n);
  for (size_t i = 0; i < n; ++i) c[i] = static_cast<float>(coeff[i]);

  const TensorDesc& y = init.output(0);
  for (size_t i = 0; i < n; ++i) {
    if (init.input(i).dims != y.dims) return init.error("every input must have the output's shape");
  }
  if (init.node.precision == Precision::kINT8) {
    if (op != Operation::kSum) return init.error("only Eltwise SUM has an INT8 form (docs/int8.md)");
    for (size_t i = 0; i < n; ++i) {
      if (init.input(i).dtype != DType::kInt8) {
        return init.error("an INT8 node needs int8 inputs; '" + init.input(i).name + "' is float32");
      }
    }
    const bool float_out = y.dtype == DType::kFloat32;
    // C_i = float32(coeff_i * s_i / s_y) (int8 output) or float32(coeff_i * s_i), in double.
    std::vector<float> m(n);
    for (size_t i = 0; i < n; ++i) {
      double v = static_cast<double>(c[i]) * static_cast<double>(init.input(i).scale);
      if (!float_out) v /= static_cast<double>(y.scale);
      m[i] = static_cast<float>(v);
    }
    *out = std::make_unique<Int8EltwiseSum>(init.node.name, std::move(m), y.volume, init.node.activation, float_out);
    return Status::ok();
  }
  for (size_t i = 0; i < n; ++i) {
    if (init.input(i).dtype != DType::kFloat32) return init.error("a float node needs float32 inputs");
  }
  if (y.dtype != DType::kFloat32) return init.error("a float node needs a float32 output");
  *out = std::make_unique<FloatEltwise>(init.node.name, op, std::move(c), y.volume, init.node.activation);
  return Status::ok();
}

}  // namespace

Status make_eltwise(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  try {
    return create(init, out);
  } catch (const std::bad_alloc&) {
    return out_of_memory(init.node.name);
  }
}

}  // namespace trtn::cpu
