#!/usr/bin/env bash
# Builds the example plugin library: bash examples/plugins/build.sh [--cuda] [output.so]
#   g++ (default): the cpu functions; --cuda: nvcc, the cuda functions too (for sm_75..sm_90 and PTX).
# The header is the package's native/include/tensorrt_node_plugin.h (shipped in the npm package).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cuda=0
if [ "${1:-}" = "--cuda" ]; then cuda=1; shift; fi
out=${1:-$here/libexample_plugin.so}
if [ $cuda = 1 ]; then
  nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  "$nvcc" -std=c++17 -O2 -shared -Xcompiler -fPIC,-fvisibility=hidden -x cu \
    -gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90] \
    -I"$root/native" -o "$out" "$here/example_plugin.cc"
else
  "${CXX:-g++}" -std=c++17 -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -I"$root/native" -o "$out" "$here/example_plugin.cc"
fi
echo "built $out"
