// Convolution (Caffe semantics): any number of spatial axes, groups, dilation, stride, padding,
// several bottoms / tops sharing the weights (pairwise). Lowered to GEMM per (image, group, tile
// of output positions): columns = im2col(input tile), output = W_g * columns, with the bias and
// the fused ReLU in the GEMM's epilogue (float) or the INT8 epilogue of docs/int8.md (int8).
// Precisions: fp32; tf32 rounds the activations to TF32 as they are packed (the prepared weights
// are rounded already); fp16 computes in float32 on float16 values (the executor rounds the
// outputs); int8 accumulates int8 x int8 in int32.
#include <algorithm>
#include <atomic>
#include <new>

#include "backends/cpu/ops/gemm.h"
#include "backends/cpu/ops/op.h"

namespace trtn::cpu {
namespace {

// im2col fills a tile of output positions at a time, so the column buffer of each thread stays
// near this many elements however large the image.
constexpr int64_t kColumnBudget = int64_t{1} << 20;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// How one run spreads its GEMMs: `tasks` = (image, group, tile of `tile` output positions). With
// task_parallel, each of `slots` threads takes whole tasks and runs serial GEMMs; otherwise the
// tasks run in turn with the GEMM itself threaded (too few tasks to go round).
struct TaskPlan {
  int64_t tile = 0, tiles = 0, tasks = 0, slots = 1;
  bool task_parallel = false;
};

TaskPlan plan_tasks(int64_t problems, int64_t positions, int64_t column_rows, int threads) {
  auto tile_for = [positions](int64_t tiles) {
    return std::min(positions, ceil_div(ceil_div(positions, tiles), kSgemmNR) * kSgemmNR);
  };
  const int64_t budget_tile = column_rows > 0 ? std::max<int64_t>(64, kColumnBudget / column_rows) : positions;
  TaskPlan p;
  p.tile = tile_for(ceil_div(positions, budget_tile));
  if (threads > 1) {
    // Cut the positions finer until every thread has work, in whole waves when tasks are few.
    int64_t tiles = ceil_div(positions, p.tile);
    if (problems * tiles < 8 * threads) tiles = ceil_div(ceil_div(problems * tiles, threads) * threads, problems);
    const int64_t tile = tile_for(tiles);
    if (problems * ceil_div(positions, tile) >= threads) {
      p.tile = tile;
      p.task_parallel = true;
    }
  }
  p.tiles = ceil_div(positions, p.tile);
  p.tasks = problems * p.tiles;
  p.slots = p.task_parallel ? std::min<int64_t>(threads, p.tasks) : 1;
  return p;
}

class Convolution : public CpuOp {
 public:
  Status init(const OpInit& init);
  Status run(const OpArgs& args) const override;

 private:
  Status run_float(const OpArgs& args, size_t pair) const;
  Status run_int8(const OpArgs& args, size_t pair) const;

  ConvGeometry geo_;
  ColumnLayout layout_;
  Precision precision_ = Precision::kFP32;
  Activation activation_;
  int64_t cin_g_ = 0, cout_g_ = 0;
  int64_t rows_ = 0;                    // GEMM K: input channels of a group x kernel volume
  bool direct_ = false;                 // 1x1, stride 1, no padding: the input is its own column matrix
  std::vector<PackedF32> weights_f32_;  // per group, A operand [cout_g, rows]
  std::vector<PackedI8> weights_i8_;
  std::vector<float> bias_;
  std::vector<Int8Epilogue> epilogues_;  // per (input, output) pair
};

Status Convolution::init(const OpInit& init) {
  TRTN_TRY(read_conv_geometry(init, false, &geo_));
  TRTN_TRY(check_gemm_dtypes(init));
  precision_ = init.node.precision;
  activation_ = init.node.activation;
  cin_g_ = geo_.channels_in / geo_.group;
  cout_g_ = geo_.channels_out / geo_.group;
  rows_ = cin_g_ * geo_.kernel_volume;
  direct_ = geo_.kernel_volume == 1;
  for (size_t a = 0; a < geo_.kernel.size(); ++a) direct_ = direct_ && geo_.stride[a] == 1 && geo_.pad[a] == 0;
  layout_ = ColumnLayout{cin_g_, geo_.in, geo_.out, geo_.kernel, geo_.stride, geo_.pad, geo_.dilation};

  std::vector<int64_t> wdims{geo_.channels_out, cin_g_};
  wdims.insert(wdims.end(), geo_.kernel.begin(), geo_.kernel.end());
  const Blob *w = nullptr, *bias = nullptr, *wscale = nullptr;
  TRTN_TRY(find_gemm_blobs(init, wdims, geo_.channels_out, &w, &bias, &wscale));
  bias_ = bias->f32;
  if (precision_ == Precision::kINT8) {
    weights_i8_.resize(geo_.group);
    for (int64_t g = 0; g < geo_.group; ++g) {
      TRTN_TRY(weights_i8_[g].pack_a(MatI8{w->i8.data() + g * cout_g_ * rows_, rows_, 1}, cout_g_, rows_));
    }
    epilogues_.resize(init.node.inputs.size());
    for (size_t i = 0; i < epilogues_.size(); ++i) {
      epilogues_[i].init(init.input(i).scale, wscale->f32, bias_, init.output(i), activation_);
    }
  } else {
    weights_f32_.resize(geo_.group);
    for (int64_t g = 0; g < geo_.group; ++g) {
      TRTN_TRY(weights_f32_[g].pack_a(MatF32{w->f32.data() + g * cout_g_ * rows_, rows_, 1}, cout_g_, rows_));
    }
  }
  return Status::ok();
}

Status Convolution::run(const OpArgs& args) const {
  if (args.in.size() != args.out.size() || args.batch < 1) {
    return Status(Code::kInvalidArgument, "convolution: bad buffers or batch");
  }
  try {
    for (size_t i = 0; i < args.in.size(); ++i) {
      TRTN_TRY(precision_ == Precision::kINT8 ? run_int8(args, i) : run_float(args, i));
    }
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "convolution: out of memory");
  }
  return Status::ok();
}

Status Convolution::run_float(const OpArgs& args, size_t pair) const {
  const float* x = static_cast<const float*>(args.in[pair]);
  float* y = static_cast<float*>(args.out[pair]);
  const int threads = args.pool.size();
  const int64_t in_vol = geo_.in_volume, out_vol = geo_.out_volume;
  const TaskPlan plan = plan_tasks(args.batch * geo_.group, out_vol, direct_ ? 0 : rows_, threads);

  SgemmArgs shape;
  shape.m = cout_g_;
  shape.n = plan.tile;
  shape.k = rows_;
  shape.packed_a = &weights_f32_[0];
  const size_t col_bytes = direct_ ? 0 : align64(sizeof(float) * rows_ * plan.tile);
  const size_t slot_bytes = col_bytes + sgemm_scratch_bytes(shape, plan.task_parallel ? 1 : threads);
  AlignedBuffer scratch;
  TRTN_TRY(scratch.allocate(slot_bytes * plan.slots, "convolution scratch"));

  auto task = [&](int64_t t, unsigned char* slot, ThreadPool* pool) {
    const int64_t tile = t % plan.tiles, g = (t / plan.tiles) % geo_.group, b = t / (plan.tiles * geo_.group);
    const int64_t p0 = tile * plan.tile, p1 = std::min(out_vol, p0 + plan.tile);
    const float* xg = x + (b * geo_.channels_in + g * cin_g_) * in_vol;
    SgemmArgs gemm;
    gemm.m = cout_g_;
    gemm.n = p1 - p0;
    gemm.k = rows_;
    gemm.packed_a = &weights_f32_[g];
    if (direct_) {
      gemm.b = MatF32{xg + p0, in_vol, 1};
    } else {
      float* col = reinterpret_cast<float*>(slot);
      im2col(layout_, xg, p0, p1, col);
      gemm.b = MatF32{col, p1 - p0, 1};
    }
    gemm.round_tf32 = precision_ == Precision::kTF32;
    gemm.c = y + (b * geo_.channels_out + g * cout_g_) * out_vol + p0;
    gemm.c_rs = out_vol;
    gemm.epilogue = GemmEpilogue{bias_.data() + g * cout_g_, true, activation_.relu, activation_.negative_slope};
    sgemm(gemm, slot + col_bytes, pool);
  };
  if (plan.task_parallel) {
    std::atomic<int64_t> next{0};
    run_slots(args.pool, plan.slots, [&](int64_t s) {
      for (int64_t t = next++; t < plan.tasks; t = next++) task(t, scratch.data() + s * slot_bytes, nullptr);
    });
  } else {
    for (int64_t t = 0; t < plan.tasks; ++t) task(t, scratch.data(), &args.pool);
  }
  return Status::ok();
}

Status Convolution::run_int8(const OpArgs& args, size_t pair) const {
  const int8_t* x = static_cast<const int8_t*>(args.in[pair]);
  void* y = args.out[pair];
  const Int8Epilogue& epilogue = epilogues_[pair];
  const int threads = args.pool.size();
  const int64_t in_vol = geo_.in_volume, out_vol = geo_.out_volume;
  const TaskPlan plan = plan_tasks(args.batch * geo_.group, out_vol, direct_ ? 0 : rows_, threads);

  IgemmArgs shape;
  shape.m = cout_g_;
  shape.n = plan.tile;
  shape.k = rows_;
  shape.packed_a = &weights_i8_[0];
  const size_t col_bytes = direct_ ? 0 : align64(static_cast<size_t>(rows_ * plan.tile));
  const size_t acc_bytes = align64(sizeof(int32_t) * cout_g_ * plan.tile);
  const size_t slot_bytes = col_bytes + acc_bytes + igemm_scratch_bytes(shape, plan.task_parallel ? 1 : threads);
  AlignedBuffer scratch;
  TRTN_TRY(scratch.allocate(slot_bytes * plan.slots, "int8 convolution scratch"));

  auto task = [&](int64_t t, unsigned char* slot, ThreadPool* pool) {
    const int64_t tile = t % plan.tiles, g = (t / plan.tiles) % geo_.group, b = t / (plan.tiles * geo_.group);
    const int64_t p0 = tile * plan.tile, p1 = std::min(out_vol, p0 + plan.tile), n = p1 - p0;
    const int8_t* xg = x + (b * geo_.channels_in + g * cin_g_) * in_vol;
    int32_t* acc = reinterpret_cast<int32_t*>(slot + col_bytes);
    IgemmArgs gemm;
    gemm.m = cout_g_;
    gemm.n = n;
    gemm.k = rows_;
    gemm.packed_a = &weights_i8_[g];
    if (direct_) {
      gemm.b = MatI8{xg + p0, in_vol, 1};
    } else {
      int8_t* col = reinterpret_cast<int8_t*>(slot);
      im2col(layout_, xg, p0, p1, col);
      gemm.b = MatI8{col, n, 1};
    }
    gemm.c = acc;
    gemm.c_rs = n;
    igemm(gemm, slot + col_bytes + acc_bytes, pool);
    for (int64_t m = 0; m < cout_g_; ++m) {
      const int64_t c = g * cout_g_ + m;
      epilogue.apply_channel(acc + m * n, n, c, y, (b * geo_.channels_out + c) * out_vol + p0);
    }
  };
  if (plan.task_parallel) {
    std::atomic<int64_t> next{0};
    run_slots(args.pool, plan.slots, [&](int64_t s) {
      for (int64_t t = next++; t < plan.tasks; t = next++) task(t, scratch.data() + s * slot_bytes, nullptr);
    });
  } else {
    for (int64_t t = 0; t < plan.tasks; ++t) task(t, scratch.data(), &args.pool);
  }
  return Status::ok();
}

}  // namespace

Status make_convolution(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Convolution>(init, out); }

}  // namespace trtn::cpu
