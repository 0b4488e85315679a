// InnerProduct (Caffe semantics): the input flattened from `axis` on (K = inputSize values per
// row, every dimension before it a row), times the weights [N, K] (or [K, N] with transpose),
// plus the bias. One GEMM over all rows of the batch: C [rows, N] = X [rows, K] * W^T, with the
// weights packed once as the B operand, the bias per column and the fused ReLU in the epilogue.
// Precisions as for Convolution: tf32 rounds the activations as they are packed, fp16 computes
// in float32, int8 accumulates in int32 and applies the INT8 epilogue of docs/int8.md per output
// channel (column).
#include <algorithm>
#include <new>

#include "backends/cpu/ops/gemm.h"
#include "backends/cpu/ops/op.h"

namespace trtn::cpu {
namespace {

// INT8 sums of this many rows x N at most are held at once (int32), whatever the batch.
constexpr int64_t kAccumulatorBudget = int64_t{1} << 22;

class InnerProduct : public CpuOp {
 public:
  Status init(const OpInit& init);
  Status run(const OpArgs& args) const override;

 private:
  Status run_float(const OpArgs& args) const;
  Status run_int8(const OpArgs& args) const;

  Precision precision_ = Precision::kFP32;
  Activation activation_;
  int64_t rows_per_image_ = 1;  // dimensions before `axis`, per image
  int64_t k_ = 0, n_ = 0;
  PackedF32 weights_f32_;  // B operand [K, N]
  PackedI8 weights_i8_;
  std::vector<float> bias_;
  Int8Epilogue epilogue_;
};

Status InnerProduct::init(const OpInit& init) {
  TRTN_TRY(init.expect_io(1, 1));
  TRTN_TRY(check_gemm_dtypes(init));
  precision_ = init.node.precision;
  activation_ = init.node.activation;
  const json::Value& attrs = init.node.attrs;
  int64_t axis = 1, input_size = -1;
  bool transpose = false;
  TRTN_TRY(init.attr_int("numOutput", &n_));
  if (attrs.has("axis")) TRTN_TRY(init.attr_int("axis", &axis));
  if (attrs.has("transpose")) TRTN_TRY(init.attr_bool("transpose", &transpose));
  if (attrs.has("inputSize")) TRTN_TRY(init.attr_int("inputSize", &input_size));
  if (n_ < 1) return init.error("numOutput must be >= 1");

  // Axes count the batch as dimension 0 (docs/engine.md); the batch must stay a row index.
  const std::vector<int64_t>& in = init.input(0).dims;
  const int64_t rank = static_cast<int64_t>(in.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 1 || axis >= rank) {
    return init.error("axis must be in [1, " + std::to_string(rank - 1) + "] for an input of " + std::to_string(rank) +
                      " dimensions (with the batch)");
  }
  k_ = 1;
  for (int64_t i = axis - 1; i < rank - 1; ++i) k_ *= in[i];
  rows_per_image_ = 1;
  std::vector<int64_t> want;
  for (int64_t i = 0; i < axis - 1; ++i) {
    rows_per_image_ *= in[i];
    want.push_back(in[i]);
  }
  want.push_back(n_);
  if (input_size >= 0 && input_size != k_) {
    return init.error("inputSize " + std::to_string(input_size) + " does not match the " + std::to_string(k_) +
                      " input values per row");
  }
  if (init.output(0).dims != want) return init.error("output '" + init.output(0).name + "' has the wrong shape");

  const std::vector<int64_t> wdims = transpose ? std::vector<int64_t>{k_, n_} : std::vector<int64_t>{n_, k_};
  const Blob *w = nullptr, *bias = nullptr, *wscale = nullptr;
  TRTN_TRY(find_gemm_blobs(init, wdims, n_, &w, &bias, &wscale));
  bias_ = bias->f32;
  // B(k, n) is W[n][k], or W[k][n] when the weights are stored transposed.
  const int64_t rs = transpose ? n_ : 1, cs = transpose ? 1 : k_;
  if (precision_ == Precision::kINT8) {
    TRTN_TRY(weights_i8_.pack_b(MatI8{w->i8.data(), rs, cs}, k_, n_));
    epilogue_.init(init.input(0).scale, wscale->f32, bias_, init.output(0), activation_);
  } else {
    TRTN_TRY(weights_f32_.pack_b(MatF32{w->f32.data(), rs, cs}, k_, n_));
  }
  return Status::ok();
}

Status InnerProduct::run(const OpArgs& args) const {
  if (args.in.size() != 1 || args.out.size() != 1 || args.batch < 1) {
    return Status(Code::kInvalidArgument, "inner product: bad buffers or batch");
  }
  try {
    return precision_ == Precision::kINT8 ? run_int8(args) : run_float(args);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "inner product: out of memory");
  }
}

Status InnerProduct::run_float(const OpArgs& args) const {
  SgemmArgs gemm;
  gemm.m = args.batch * rows_per_image_;
  gemm.n = n_;
  gemm.k = k_;
  gemm.a = MatF32{static_cast<const float*>(args.in[0]), k_, 1};
  gemm.packed_b = &weights_f32_;
  gemm.round_tf32 = precision_ == Precision::kTF32;
  gemm.c = static_cast<float*>(args.out[0]);
  gemm.c_rs = n_;
  gemm.epilogue = GemmEpilogue{bias_.data(), false, activation_.relu, activation_.negative_slope};
  AlignedBuffer scratch;
  TRTN_TRY(scratch.allocate(sgemm_scratch_bytes(gemm, args.pool.size()), "inner product scratch"));
  sgemm(gemm, scratch.data(), &args.pool);
  return Status::ok();
}

Status InnerProduct::run_int8(const OpArgs& args) const {
  const int8_t* x = static_cast<const int8_t*>(args.in[0]);
  const int64_t rows = args.batch * rows_per_image_;
  const int64_t chunk = std::min(rows, std::max<int64_t>(kIgemmMR, kAccumulatorBudget / n_ / kIgemmMR * kIgemmMR));
  IgemmArgs shape;
  shape.m = chunk;
  shape.n = n_;
  shape.k = k_;
  shape.packed_b = &weights_i8_;
  const size_t acc_bytes = align64(sizeof(int32_t) * chunk * n_);
  AlignedBuffer scratch;
  TRTN_TRY(scratch.allocate(acc_bytes + igemm_scratch_bytes(shape, args.pool.size()), "int8 inner product scratch"));
  int32_t* acc = reinterpret_cast<int32_t*>(scratch.data());
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    IgemmArgs gemm = shape;
    gemm.m = std::min(chunk, rows - r0);
    gemm.a = MatI8{x + r0 * k_, k_, 1};
    gemm.c = acc;
    gemm.c_rs = n_;
    igemm(gemm, scratch.data() + acc_bytes, &args.pool);
    args.pool.parallel_for(gemm.m, std::max<int64_t>(1, 4096 / n_), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) epilogue_.apply_row(acc + r * n_, n_, 0, args.out[0], (r0 + r) * n_);
    });
  }
  return Status::ok();
}

}  // namespace

Status make_inner_product(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<InnerProduct>(init, out); }

}  // namespace trtn::cpu
