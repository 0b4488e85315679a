#!/usr/bin/env bash
# Builds the standalone convolution self-test (conv_selftest.cu) for one GPU architecture against
# the native sources that native/sources.json lists, so a new kernel file or helper needs no edit
# here: every entry of its host, cuda_host and cuda_device groups under native/core, native/gpu and
# native/backends/cuda is compiled into an archive, and the linker takes from it only what the
# self-test reaches (the convolution op, its kernel families, the real gpu/cuda_check.cc).
# Not part of the addon; scripts/gpu-session.sh (step selftest) runs it.
#
# Usage: scripts/cuda-selftest/build.sh <compute capability, e.g. 90> [output, default /tmp/conv_selftest]
# Compiler output goes to stderr; the exit status is nvcc's.
set -euo pipefail
arch=${1:?usage: build.sh <compute capability, e.g. 90> [output]}
out=${2:-/tmp/conv_selftest}
cd "$(dirname "$0")/../.."
objdir=$(mktemp -d)
trap 'rm -rf "$objdir"' EXIT

sources=$(node -e '
  const s = require("./native/sources.json");
  const wanted = /^native\/(core|gpu|backends\/cuda)\//;
  const files = [...s.host, ...s.cuda_host, ...s.cuda_device].filter((f) => wanted.test(f));
  console.log([...new Set(files)].join("\n"));
')
flags=(-std=c++17 -O2 "-arch=sm_$arch" -Inative --expt-relaxed-constexpr --diag-suppress=2810 -DTRTN_WITH_CUDA)
export objdir
printf '%s\n' $sources | xargs -P "$(nproc)" -I{} sh -c \
  'nvcc "$@" -c "{}" -o "$objdir/$(echo "{}" | tr / _).o"' _ "${flags[@]}"
ar rcs "$objdir/libtrtn_selftest.a" "$objdir"/*.o
nvcc "${flags[@]}" -o "$out" scripts/cuda-selftest/conv_selftest.cu "$objdir/libtrtn_selftest.a"
