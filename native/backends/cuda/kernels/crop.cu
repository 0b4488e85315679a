// Crop on the GPU (core/crop_params.h) over whole kLinear tensors: output row (the last dim, contiguous
// in both tensors) g of image n starts in the input at n * in_volume + the offsets of its
// coordinates; V values of a row per thread (16-byte packs when every row start is aligned).
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"
#include "core/crop_params.h"

namespace trtn::cuda {
namespace {

/// Most per-image dims a cropped tensor may have.
constexpr int kMaxRank = 8;

struct CropArgs {
  int rank;  // per-image dims (0: one value per image)
  uint32_t out_dims[kMaxRank];
  int64_t in_strides[kMaxRank];
  int64_t offsets[kMaxRank];
  int64_t in_volume;
  uint32_t row;                // output values per row
  uint32_t chunks;             // chunks per row
  uint32_t total;              // items: rows * chunks
  FastDiv by_chunks, by_rows;  // item -> row; row -> image
  FastDiv by_dim[kMaxRank];    // out_dims[i]
  bool vec;
};

template <typename Tin, typename Tout, int V>
__global__ void __launch_bounds__(kMapThreads) crop_kernel(const Tin* x, Tout* y, const CropArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t g = a.by_chunks.div(t);
    const uint32_t e0 = (t - g * a.chunks) * V;
    const int cnt = static_cast<int>(min(static_cast<uint32_t>(V), a.row - e0));
    const uint32_t n = a.by_rows.div(g);
    uint32_t rest = g - n * a.by_rows.d;
    int64_t src = n * a.in_volume;
    if (a.rank > 0) {
      src += a.offsets[a.rank - 1];
      for (int i = a.rank - 2; i >= 0; --i) {
        const uint32_t q = a.by_dim[i].div(rest);
        src += (static_cast<int64_t>(rest - q * a.by_dim[i].d) + a.offsets[i]) * a.in_strides[i];
        rest = q;
      }
    }
    float v[V];
    load_chunk<Tin, V>(x + src + e0, cnt, a.vec, v);
    store_chunk<Tout, V>(y + static_cast<int64_t>(g) * a.row + e0, cnt, a.vec, v);
  }
}

class CropOp final : public CudaOp {
 public:
  CropOp() = default;
  /// Reads and checks the node (make<CropOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const int rank = static_cast<int>(p_.out_dims.size());
    const int64_t row = rank == 0 ? 1 : p_.out_dims[rank - 1];
    int64_t rows_per_image = 1;
    for (int i = 0; i + 1 < rank; ++i) rows_per_image *= p_.out_dims[i];
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      constexpr int V = map_width<Tout>();
      CropArgs a{};
      a.rank = rank;
      bool strides_aligned = p_.in_volume % V == 0 && row % V == 0;
      for (int i = 0; i < rank; ++i) {
        a.out_dims[i] = static_cast<uint32_t>(p_.out_dims[i]);
        a.in_strides[i] = p_.in_strides[i];
        a.offsets[i] = p_.offsets[i];
        a.by_dim[i] = FastDiv(a.out_dims[i]);
        // Rows start at offsets[rank - 1] plus multiples of the outer strides.
        if (i + 1 < rank) strides_aligned = strides_aligned && p_.in_strides[i] % V == 0;
      }
      if (rank > 0) strides_aligned = strides_aligned && p_.offsets[rank - 1] % V == 0;
      a.in_volume = p_.in_volume;
      a.row = static_cast<uint32_t>(row);
      a.chunks = static_cast<uint32_t>((row + V - 1) / V);
      a.by_chunks = FastDiv(a.chunks);
      a.by_rows = FastDiv(static_cast<uint32_t>(rows_per_image));
      return for_batch_chunks(args.batch, rows_per_image * a.chunks, [&](int n0, int nb) -> Status {
        const Tin* x = static_cast<const Tin*>(args.in[0].data) + n0 * p_.in_volume;
        Tout* y = static_cast<Tout*>(args.out[0].data) + n0 * rows_per_image * row;
        a.total = static_cast<uint32_t>(nb * rows_per_image * a.chunks);
        a.vec = V > 1 && strides_aligned && aligned_to(x, pack_align<Tin, V>()) && aligned_to(y, pack_align<Tout, V>());
        crop_kernel<Tin, Tout, V><<<grid_for(a.total, kMapThreads), kMapThreads, 0, args.stream>>>(x, y, a);
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  CropParams p_;
};

Status CropOp::init(const CudaOpInit& init) {
  CropParams p;
  Status st = read_crop_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (p.out_dims.size() > static_cast<size_t>(kMaxRank)) {
    return init.node.error("the cuda backend crops tensors of at most " + std::to_string(kMaxRank) + " dims per image");
  }
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = std::move(p);
  return Status::ok();
}

}  // namespace

Status make_crop(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<CropOp>(init, out); }

}  // namespace trtn::cuda
