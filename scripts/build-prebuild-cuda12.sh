#!/usr/bin/env bash
# The CUDA 12 prebuild (issue 17): prebuilds/linux-x64/tensorrt-node.cuda12.glibc.node, for drivers
# older than R580 (CUDA 13's minimum) and for GPUs CUDA 13 cannot compile for (Maxwell sm_52 and
# Pascal sm_61: the Dell study's Tesla M40 and P40; Volta sm_70). The loader (lib/native.ts
# chooseCudaVariant) takes it instead of the default CUDA 13 binary when the machine needs it.
#
# The toolkit is Debian trixie's non-free nvidia-cuda-toolkit (CUDA 12.4.1), fetched with a private
# apt state and unpacked with dpkg -x into a folder outside the repository (nothing is installed:
# the system's apt sources, libc and /usr/local/cuda-* stay as they are), then given NVIDIA's
# folder layout with links and a relocatable nvcc.profile (docs/build.md, "CUDA 12 variant"). The
# build itself is scripts/build-prebuild-bullseye.sh --variant cuda12 (glibc 2.31 baseline, static
# libstdc++), which checks the result with scripts/check-prebuild.sh.
#
# Usage: scripts/build-prebuild-cuda12.sh [--toolkit-root DIR] [bullseye script options]
#   --toolkit-root DIR  where the toolkit is unpacked (default: $TRTN_CUDA12_ROOT, else
#                       <repo>/../cuda12-root); reused when it already holds cuda-12.4/bin/nvcc
# Needs: root, Debian's package mirror (about 1 GB of packages, once).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLKIT_ROOT="${TRTN_CUDA12_ROOT:-$(dirname "$REPO")/cuda12-root}"
ARCHS="52-real;61-real;70-real;75-real;80-real;86-real;89-real;90-real;90-virtual"
MIRROR="http://deb.debian.org/debian"
PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --toolkit-root) TOOLKIT_ROOT="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done
say() { printf '[cuda12 %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
T="$TOOLKIT_ROOT/cuda-12.4"

if [ ! -x "$T/bin/nvcc" ]; then
  [ "$(id -u)" = 0 ] || { echo "build-prebuild-cuda12: needs root to fetch the toolkit" >&2; exit 1; }
  APT_DIR="$(mktemp -d)"
  trap 'rm -rf "$APT_DIR"' EXIT
  echo "deb $MIRROR trixie main contrib non-free non-free-firmware" >"$APT_DIR/sources.list"
  APT=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$APT_DIR/lists"
       -o "Dir::Cache=$APT_DIR/cache" -o Debug::NoLocking=1)
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/dl"
  say "apt-get update (trixie, a private state in $APT_DIR)"
  apt-get "${APT[@]}" update -q >/dev/null
  say "apt-get download the toolkit (about 1 GB)"
  (cd "$APT_DIR/dl" && apt-get "${APT[@]}" download nvidia-cuda-toolkit nvidia-cuda-dev libnvvm4 libcudart12 \
    libcu++-dev libcub-dev libthrust-dev)
  mkdir -p "$TOOLKIT_ROOT"
  for f in "$APT_DIR"/dl/*.deb; do dpkg -x "$f" "$TOOLKIT_ROOT"; done
  say "unpacked into $TOOLKIT_ROOT; giving it NVIDIA's layout in $T"
  R="$TOOLKIT_ROOT"
  mkdir -p "$T/bin" "$T/nvvm/bin"
  cp "$R/usr/lib/nvidia-cuda-toolkit/bin/nvcc" "$T/bin/nvcc" # a copy: nvcc finds its profile by its own path
  for b in ptxas fatbinary nvlink cudafe++ bin2c nvprune cuobjdump nvdisasm cu++filt; do ln -sf "../../usr/bin/$b" "$T/bin/$b"; done
  ln -sfn ../../usr/lib/nvidia-cuda-toolkit/bin/crt "$T/bin/crt"
  ln -sf ../../../usr/lib/nvidia-cuda-toolkit/bin/cicc "$T/nvvm/bin/cicc"
  ln -sfn ../../usr/lib/nvidia-cuda-toolkit/libdevice "$T/nvvm/libdevice"
  ln -sfn ../usr/include "$T/include"
  ln -sfn ../usr/lib/x86_64-linux-gnu "$T/lib64"
  cat >"$T/bin/nvcc.profile" <<'PROFILE'
TOP              = $(_HERE_)/..
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice
PATH            += $(TOP)/nvvm/bin:$(_HERE_):
INCLUDES        +=  "-I$(TOP)/include" $(_SPACE_)
LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/lib64/stubs" "-L$(TOP)/lib64"
CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
PROFILE
fi
say "$("$T/bin/nvcc" --version | tail -2 | head -1)"
# The toolkit's links point into the unpacked tree: the whole of it is mounted into the build root.
exec bash "$REPO/scripts/build-prebuild-bullseye.sh" --variant cuda12 --cuda "$T" --mount "$TOOLKIT_ROOT" --archs "$ARCHS" "${PASS[@]}"
