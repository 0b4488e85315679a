#!/usr/bin/env bash
# Compiles the tensorrt backend's TensorRT-facing sources (mapping.cc, network_builder.cc, the
# TRTN_Node plugin node_plugin.cc and the module's C interface trt_module.cc in native/backends/tensorrt/) against
# the public TensorRT headers of each version in $TENSORRT_INCLUDE_DIR: a colon-separated list of
# include/ folders, one per version (e.g. the include/ folder of github.com/NVIDIA/TensorRT at the
# tags v10.0.0 and v11.1, kept outside this repository and never committed). Compile only: no
# libnvinfer is linked or needed. CUDA's headers come from $CUDA_HOME/include (default
# /usr/local/cuda). Without the variable it says so and exits 0 (a skip, not a pass).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TENSORRT_INCLUDE_DIR:-}" ]; then
  echo "check-tensorrt: SKIPPED: TENSORRT_INCLUDE_DIR is not set (a colon-separated list of TensorRT include/ folders)"
  exit 0
fi
cuda_inc="${CUDA_HOME:-/usr/local/cuda}/include"
if [ ! -f "$cuda_inc/cuda_runtime_api.h" ]; then
  echo "check-tensorrt: FAILED: TensorRT's headers need cuda_runtime_api.h, not found in $cuda_inc (set CUDA_HOME)" >&2
  exit 1
fi
cxx="${CXX:-g++}"
sources=(native/backends/tensorrt/mapping.cc native/backends/tensorrt/network_builder.cc native/backends/tensorrt/node_plugin.cc
  native/backends/tensorrt/trt_module.cc)
failed=0
checked=0
IFS=':' read -r -a dirs <<< "$TENSORRT_INCLUDE_DIR"
for dir in "${dirs[@]}"; do
  [ -n "$dir" ] || continue
  if [ ! -f "$dir/NvInfer.h" ] || [ ! -f "$dir/NvInferVersion.h" ]; then
    echo "check-tensorrt: FAILED: $dir has no NvInfer.h / NvInferVersion.h" >&2
    failed=1
    continue
  fi
  version=$(printf '#include <NvInferVersion.h>\nNV_TENSORRT_MAJOR.NV_TENSORRT_MINOR.NV_TENSORRT_PATCH\n' |
    "$cxx" -E -P -I"$dir" -x c++ - 2>/dev/null | tail -1 | tr -d ' ')
  ok=1
  for src in "${sources[@]}"; do
    if ! "$cxx" -std=c++17 -Wall -Wextra -Werror -fsyntax-only \
        -Inative -isystem "$dir" -isystem "$cuda_inc" "$src"; then
      ok=0
    fi
  done
  checked=$((checked + 1))
  if [ "$ok" = 1 ]; then
    echo "check-tensorrt: ok: TensorRT $version headers ($dir)"
  else
    echo "check-tensorrt: FAILED: TensorRT $version headers ($dir)" >&2
    failed=1
  fi
done
[ "$checked" -gt 0 ] || { echo "check-tensorrt: FAILED: no folder in TENSORRT_INCLUDE_DIR" >&2; exit 1; }
exit "$failed"
