#!/bin/bash
# Runs the cuda backend's op kernels on the host, without a GPU, against the cpu ops: every
# kernel file is compiled as C++ with emu.h (CUDA threads as host threads, block barriers,
# shuffles through per-warp barriers, launches rewritten from <<<...>>> to emulated calls), and
# ops_test.cc builds small graphs, runs each op on both backends over NCHW / NHWC / channel-slice
# views and float32 / float16 / int8 storage, and compares (bit for bit unless a case says why
# not), checking padding zeros and that nothing outside the output view is written.
# Two builds: the plain one, and a "chunked" one where every launch covers one image (or three
# rows), so the batch-splitting paths run too.
#   scripts/cuda-emulation/run.sh [group]    (groups: see main() in ops_test.cc)
# Needs g++ with C++20 (<barrier>) and the CUDA headers (CUDA_HOME, default /usr/local/cuda-13.0).
# Emulation checks indexing, layouts, padding and the arithmetic as written; it cannot see what
# only a GPU does (fma contraction, warp scheduling, alignment faults): review those by hand.
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E=$ROOT/scripts/cuda-emulation
B=${BUILD_DIR:-$ROOT/build/cuda-emulation}
CUDA_INC=${CUDA_HOME:-/usr/local/cuda-13.0}/include
FLAGS="-DNAPI_VERSION=8 -std=c++20 -O1 -g -ffp-contract=off -pthread -I$CUDA_INC -Wno-unused-parameter"

build() {  # variant
  local variant=$1 src=$B/$1/src obj=$B/$1/obj
  rm -rf "$src" && mkdir -p "$src" "$obj"
  cp -r "$ROOT/native" "$src/"
  for f in $(find "$src/native/backends/cuda" -name '*.cu' -o -name '*.cuh'); do
    sed -i 's/<<</ | ::emu::Config(/g; s/>>>(/) | ::emu::make_args(/g' "$f"
    if [ "$variant" = chunked ]; then
      sed -i 's/const int64_t step = (kMaxLaunchItems - 1) \/ per_image;/const int64_t step = 1;/;
              s/int64_t step = (kMaxLaunchItems - 1) \/ chunks;/int64_t step = 3;/;
              s/constexpr int kMaxGridZ = 65535;/constexpr int kMaxGridZ = 1;/' "$f"
    fi
  done
  local objs=() pids=()
  cc() {  # source object [flags]
    local s=$1 o=$2
    shift 2
    g++ $FLAGS -I"$src/native" "$@" -c "$s" -o "$o" &
    pids+=($!)
    objs+=("$o")
  }
  for f in json graph weights op_init op_kind plugins gemm_node thread_pool task_queue host_memory build_info; do cc "$src/native/core/$f.cc" "$obj/core_$f.o"; done
  for f in "$src"/native/core/*_params.cc "$src"/native/backends/cpu/ops/*.cc; do cc "$f" "$obj/$(basename "$f" .cc).o"; done
  for f in "$src"/native/backends/cuda/kernels/*.cu; do
    # Not emulated: the device probe, the calibration statistics (atomics) and the convolution
    # kernels (tensor-core PTX; scripts/cuda-selftest checks them on a GPU; ops_test.cc stubs them),
    # and the ops built on CUB's device sorts (DetectionOutput, the region layers; test/gpu has them).
    case "$(basename "$f")" in probe.cu | statistics.cu | conv*.cu | detection_output.cu | region.cu) continue ;; esac
    cc "$f" "$obj/cuda_$(basename "$f" .cu).o" -include "$E/emu.h" -x c++
  done
  for f in "$src"/native/gpu/cuda_check.cc "$src"/native/backends/cuda/place.cc "$src"/native/backends/cuda/fusion.cc \
           "$src"/native/backends/cuda/kernels/registry.cc \
           "$E/emu_runtime.cc" "$E/ops_test.cc"; do
    cc "$f" "$obj/cuda_$(basename "$f" .cc).o" -include "$E/emu.h"
  done
  for p in "${pids[@]}"; do wait "$p"; done
  g++ -pthread -o "$B/$variant/ops_test" "${objs[@]}" -ldl
}

for variant in plain chunked; do
  echo "== $variant build"
  build $variant
  "$B/$variant/ops_test" "$@" | grep -v '^ok ' || exit 1
done
