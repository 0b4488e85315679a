// Deconvolution (Caffe semantics: the gradient of a convolution), any number of spatial axes,
// groups, dilation, stride, padding, several bottoms / tops sharing the weights. Weights are
// [C_in, C_out / group, k...]; per (image, group): columns = W_g^T * input (GEMM), then col2im
// adds every column into the output window it came from, then the bias and the fused ReLU.
// fp32 / tf32 (activations rounded as they are packed) / fp16 (float32 arithmetic on float16
// values); docs/int8.md has no INT8 deconvolution, so an int8 node is refused.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "backends/cpu/ops/gemm.h"
#include "backends/cpu/ops/op.h"

namespace trtn::cpu {
namespace {

// The column buffer holds a tile of input positions at a time, near this many floats.
constexpr int64_t kColumnBudget = int64_t{1} << 20;

class Deconvolution : public CpuOp {
 public:
  Status init(const OpInit& init);
  Status run(const OpArgs& args) const override;

 private:
  Status run_pair(const OpArgs& args, size_t pair) const;

  ConvGeometry geo_;
  ColumnLayout layout_;
  Precision precision_ = Precision::kFP32;
  Activation activation_;
  int64_t cin_g_ = 0, cout_g_ = 0;
  int64_t rows_ = 0;                // GEMM M: output channels of a group x kernel volume
  std::vector<PackedF32> weights_;  // per group, A operand W_g^T [rows, cin_g]
  std::vector<float> bias_;
};

Status Deconvolution::init(const OpInit& init) {
  if (init.node.precision == Precision::kINT8) {
    return init.error("has no INT8 form (docs/int8.md): run it in fp32");
  }
  TRTN_TRY(read_conv_geometry(init, true, &geo_));
  TRTN_TRY(check_gemm_dtypes(init));
  precision_ = init.node.precision;
  activation_ = init.node.activation;
  cin_g_ = geo_.channels_in / geo_.group;
  cout_g_ = geo_.channels_out / geo_.group;
  rows_ = cout_g_ * geo_.kernel_volume;
  // The convolution whose gradient this is reads the deconvolution's output as its image and
  // produces the deconvolution's input positions as its columns.
  layout_ = ColumnLayout{cout_g_, geo_.out, geo_.in, geo_.kernel, geo_.stride, geo_.pad, geo_.dilation};

  std::vector<int64_t> wdims{geo_.channels_in, cout_g_};
  wdims.insert(wdims.end(), geo_.kernel.begin(), geo_.kernel.end());
  const Blob *w = nullptr, *bias = nullptr, *wscale = nullptr;
  TRTN_TRY(find_gemm_blobs(init, wdims, geo_.channels_out, &w, &bias, &wscale));
  bias_ = bias->f32;
  weights_.resize(geo_.group);
  for (int64_t g = 0; g < geo_.group; ++g) {
    // Rows of W_g are input channels, each [rows_] long: A(m, k) = W[g * cin_g + k][m].
    TRTN_TRY(weights_[g].pack_a(MatF32{w->f32.data() + g * cin_g_ * rows_, 1, rows_}, rows_, cin_g_));
  }
  return Status::ok();
}

Status Deconvolution::run(const OpArgs& args) const {
  if (args.in.size() != args.out.size() || args.batch < 1) {
    return Status(Code::kInvalidArgument, "deconvolution: bad buffers or batch");
  }
  try {
    for (size_t i = 0; i < args.in.size(); ++i) {
      TRTN_TRY(run_pair(args, i));
    }
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "deconvolution: out of memory");
  }
  return Status::ok();
}

Status Deconvolution::run_pair(const OpArgs& args, size_t pair) const {
  const float* x = static_cast<const float*>(args.in[pair]);
  float* y = static_cast<float*>(args.out[pair]);
  const int threads = args.pool.size();
  const int64_t in_vol = geo_.in_volume, out_vol = geo_.out_volume;
  // Tiles of one (image, group) add into overlapping output windows, so they run in turn; the
  // (image, group) problems run in parallel when there are enough of them, else each GEMM and
  // col2im (over output channels, which own disjoint rows) is threaded.
  const int64_t tasks = args.batch * geo_.group;
  const bool task_parallel = threads > 1 && tasks >= threads;
  const int64_t slots = task_parallel ? std::min<int64_t>(threads, tasks) : 1;
  int64_t tile = std::min(in_vol, std::max<int64_t>(64, kColumnBudget / rows_));
  if (tile < in_vol) tile = tile / kSgemmNR * kSgemmNR;

  SgemmArgs shape;
  shape.m = rows_;
  shape.n = tile;
  shape.k = cin_g_;
  shape.packed_a = &weights_[0];
  const size_t col_bytes = align64(sizeof(float) * rows_ * tile);
  const size_t slot_bytes = col_bytes + sgemm_scratch_bytes(shape, task_parallel ? 1 : threads);
  AlignedBuffer scratch;
  TRTN_TRY(scratch.allocate(slot_bytes * slots, "deconvolution scratch"));

  auto task = [&](int64_t t, unsigned char* slot, ThreadPool* pool) {
    const int64_t g = t % geo_.group, b = t / geo_.group;
    const float* xg = x + (b * geo_.channels_in + g * cin_g_) * in_vol;
    float* yg = y + (b * geo_.channels_out + g * cout_g_) * out_vol;
    float* col = reinterpret_cast<float*>(slot);
    auto for_channels = [&](const auto& fn) {
      if (pool == nullptr) {
        fn(0, cout_g_);
      } else {
        pool->parallel_for(cout_g_, 1, fn);
      }
    };
    for_channels(
        [&](int64_t c0, int64_t c1) { std::memset(yg + c0 * out_vol, 0, sizeof(float) * (c1 - c0) * out_vol); });
    for (int64_t p0 = 0; p0 < in_vol; p0 += tile) {
      const int64_t p1 = std::min(in_vol, p0 + tile);
      SgemmArgs gemm;
      gemm.m = rows_;
      gemm.n = p1 - p0;
      gemm.k = cin_g_;
      gemm.packed_a = &weights_[g];
      gemm.b = MatF32{xg + p0, in_vol, 1};
      gemm.round_tf32 = precision_ == Precision::kTF32;
      gemm.c = col;
      gemm.c_rs = p1 - p0;
      sgemm(gemm, slot + col_bytes, pool);
      for_channels([&](int64_t c0, int64_t c1) { col2im_add(layout_, col, p0, p1, c0, c1, yg); });
    }
    for_channels([&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        float* row = yg + c * out_vol;
        const float bias = bias_[g * cout_g_ + c];
        for (int64_t i = 0; i < out_vol; ++i) {
          const float v = row[i] + bias;
          row[i] = activation_.relu ? (v > 0.0f ? v : v * activation_.negative_slope) : v;
        }
      }
    });
  };
  if (task_parallel) {
    std::atomic<int64_t> next{0};
    run_slots(args.pool, slots, [&](int64_t s) {
      for (int64_t t = next++; t < tasks; t = next++) task(t, scratch.data() + s * slot_bytes, nullptr);
    });
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t, scratch.data(), &args.pool);
  }
  return Status::ok();
}

}  // namespace

Status make_deconvolution(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Deconvolution>(init, out); }

}  // namespace trtn::cpu
