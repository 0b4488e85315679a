#!/usr/bin/env bash
# The glibc-baseline prebuild (issue 17): builds the addon (CUDA included) inside a Debian
# bullseye root (glibc 2.31) with libstdc++ and libgcc linked statically (CMake option
# TRTN_STATIC_RUNTIME=ON), so the binary needs at most GLIBC_2.31 and no GLIBCXX_ / CXXABI_ at
# all: Ubuntu 20.04, RHEL / Rocky 8 and 9, Amazon Linux 2023 and anything newer can load it.
# The result is prebuilds/linux-x64/tensorrt-node.glibc.node (the name prebuildify --tag-libc
# gives; node-gyp-build and lib/native.ts take it as this platform's prebuild), then checked with
# scripts/check-prebuild.sh.
#
# Steps, each skipped when already done (the root is a cache, reused by later runs):
#   1. debootstrap --variant=minbase bullseye into the root (outside the repository);
#   2. inside it: g++ (gcc 10), make, python3, binutils from bullseye;
#   3. CMake: bullseye has 3.18 and CMakeLists.txt needs 3.20 (string(JSON) is 3.19), and
#      bullseye-backports is gone from the mirror, so bookworm's cmake source package
#      (apt-get source, checked against the signed Release) is compiled inside the root into
#      /opt/cmake (~10 min on 2 cores, once);
#   4. the build: in a private mount namespace (every mount disappears when the script ends,
#      however it ends) the repository, its node_modules, the CUDA toolkit (read-only) and this
#      machine's node binary are bind-mounted at their own paths; cmake-js builds into
#      build-bullseye/ with the root's gcc against the root's glibc;
#   5. the binary is stripped into prebuilds/linux-x64/ and checked.
# Needs: root, Debian's package mirror, a CUDA toolkit (nvcc 13 takes gcc 10 as host compiler),
# Node 20 here (official builds need glibc 2.28, so the same binary runs inside the root).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/build-prebuild-bullseye.sh [options]

Builds prebuilds/linux-x64/tensorrt-node.glibc.node in a Debian bullseye root (glibc 2.31,
libstdc++ and libgcc static) and checks it with scripts/check-prebuild.sh.

Options:
  --root DIR       the bullseye root (default: $TRTN_BULLSEYE_ROOT, else <repo>/../bullseye-root)
  --cuda DIR       the CUDA toolkit (default: $CUDA_HOME, else the newest /usr/local/cuda-*)
  --archs LIST     TRTN_CUDA_ARCHS for the build (default: CMakeLists.txt's)
  --variant NAME   a second binary beside the default one, e.g. cuda12: built in
                   build-bullseye-NAME/, written as tensorrt-node.NAME.glibc.node
  --mount DIR      also bind DIR read-only inside the root (a toolkit unpacked from packages,
                   whose links point outside its folder: --mount /work/cuda12-root)
  --jobs N         parallel jobs (default: the number of cores)
  --clean          configure build-bullseye/ from scratch (cmake-js rebuild) instead of incrementally
  --setup-only     prepare the root (steps 1-3) and stop
  --shell          open a shell inside the root with the build's mounts (for debugging)
  --mirror URL     Debian mirror (default: http://deb.debian.org/debian)
  -h, --help       this text
EOF
}

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="${TRTN_BULLSEYE_STAGE:-}"
ROOT="${TRTN_BULLSEYE_ROOT:-$(dirname "$REPO")/bullseye-root}"
CUDA="${CUDA_HOME:-}"
ARCHS=""
VARIANT=""
MOUNTS=""
JOBS="$(nproc)"
CLEAN=0
SETUP_ONLY=0
SHELL_ONLY=0
MIRROR="http://deb.debian.org/debian"
CMAKE_SUITE="bookworm" # whose cmake source package is compiled in the root

# The re-executed stage (step 4) takes the settings from the environment the first run exported.
[ "$STAGE" = mounted ] && set --
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="$2"; shift 2 ;;
    --cuda) CUDA="$2"; shift 2 ;;
    --archs) ARCHS="$2"; shift 2 ;;
    --variant) VARIANT="$2"; shift 2 ;;
    --mount) MOUNTS="$MOUNTS $2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --clean) CLEAN=1; shift ;;
    --setup-only) SETUP_ONLY=1; shift ;;
    --shell) SHELL_ONLY=1; shift ;;
    --mirror) MIRROR="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build-prebuild-bullseye: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[bullseye %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'build-prebuild-bullseye: %s\n' "$*" >&2; exit 1; }

# Runs a command inside the root with a clean environment.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/opt/cmake/bin:/opt/host-node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# ---- the part that runs in the private mount namespace (the script re-executes itself) ----
if [ "$STAGE" = mounted ]; then
  ROOT="$TRTN_ROOT" CUDA="$TRTN_CUDA_DIR" ARCHS="$TRTN_ARCHS" JOBS="$TRTN_JOBS" CLEAN="$TRTN_CLEAN" SHELL_ONLY="$TRTN_SHELL"
  BUILD_DIR="$TRTN_BUILD_DIR" MOUNTS="$TRTN_MOUNTS"
  mkdir -p "$ROOT/proc" "$ROOT/dev"
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # bind PATH_HERE [ro]: the same path inside the root
  bind() {
    local src="$1" dst="$ROOT$1"
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; : >"$dst"; fi
    mount --bind "$src" "$dst"
    if [ "${2:-}" = ro ]; then mount -o remount,bind,ro "$dst"; fi
  }
  bind "$REPO"
  NODE_MODULES="$(readlink -f "$REPO/node_modules")"
  case "$NODE_MODULES/" in "$REPO"/*) ;; *) bind "$NODE_MODULES" ro ;; esac
  bind "$CUDA" ro
  for m in $MOUNTS; do bind "$m" ro; done
  mkdir -p "$ROOT/opt/host-node/bin"
  : >"$ROOT/opt/host-node/bin/node"
  mount --bind "$(readlink -f "$(command -v node)")" "$ROOT/opt/host-node/bin/node"
  mount -o remount,bind,ro "$ROOT/opt/host-node/bin/node"

  if [ "$SHELL_ONLY" = 1 ]; then
    say "shell in $ROOT (the mounts go away when it exits)"
    in_root bash -c "cd '$REPO' && exec bash -i"
    exit 0
  fi

  in_root node -e 'process.exit(0)' || die "this machine's node ($(command -v node)) does not run inside bullseye (glibc 2.31)"
  say "inside: $(in_root sh -c 'ldd --version | head -1; g++ --version | head -1; cmake --version | head -1; node --version' | tr '\n' ';')"
  CMAKE_JS=(node "$REPO/node_modules/cmake-js/bin/cmake-js")
  VERB=compile
  [ "$CLEAN" = 1 ] && VERB=rebuild
  ARGS=("$VERB" --out "$BUILD_DIR" --config Release --parallel "$JOBS"
        --CDTRTN_STATIC_RUNTIME=ON --CDTRTN_CUDA=ON "--CDCMAKE_CUDA_COMPILER=$CUDA/bin/nvcc")
  [ -n "$ARCHS" ] && ARGS+=("--CDTRTN_CUDA_ARCHS=$ARCHS")
  say "cmake-js ${ARGS[*]}"
  in_root bash -c 'cd "$0" && exec "$@"' "$REPO" "${CMAKE_JS[@]}" "${ARGS[@]}"
  exit 0
fi

# ---- outside: checks, the root, then the build in a private mount namespace ----
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and bind mounts)"
[ "$(uname -m)" = x86_64 ] || die "builds linux-x64 only (this machine is $(uname -m))"
command -v node >/dev/null || die "node is not on PATH"
[ -f "$REPO/node_modules/cmake-js/bin/cmake-js" ] || die "$REPO/node_modules has no cmake-js: run npm ci first"
if [ -z "$CUDA" ]; then
  CUDA="$(ls -d /usr/local/cuda-[0-9]* 2>/dev/null | sort -V | tail -1 || true)"
fi
CUDA="$(readlink -f "${CUDA:-/nonexistent}")"
[ -x "$CUDA/bin/nvcc" ] || die "no CUDA toolkit (nvcc) at ${CUDA}: pass --cuda DIR"
case "$ROOT/" in "$REPO"/*) die "the root must lie outside the repository (--root)" ;; esac
mkdir -p "$(dirname "$ROOT")"
ROOT="$(cd "$(dirname "$ROOT")" && pwd)/$(basename "$ROOT")"
export ROOT # for setup_in_root's inner shell
START=$SECONDS

# 1. The root.
if [ -d "$ROOT/debootstrap" ]; then
  # debootstrap removes its own folder only when it finished.
  die "$ROOT holds an unfinished debootstrap ($ROOT/debootstrap exists): delete $ROOT and run again"
elif [ -f "$ROOT/etc/debian_version" ]; then
  case "$(cat "$ROOT/etc/debian_version")" in 11*) ;; *) die "$ROOT is not a bullseye root ($(cat "$ROOT/etc/debian_version"))" ;; esac
  say "reusing the root $ROOT (Debian $(cat "$ROOT/etc/debian_version"))"
else
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    apt-get install -y debootstrap >/dev/null || { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
  fi
  say "debootstrap --variant=minbase bullseye $ROOT $MIRROR"
  debootstrap --variant=minbase bullseye "$ROOT" "$MIRROR"
fi

# The setup steps need /proc and /dev too: run them in their own private namespace.
setup_in_root() {
  unshare --mount --propagation private bash -c '
    set -e
    mount -t proc proc "$ROOT/proc"
    mount --rbind /dev "$ROOT/dev"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    exec chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"' setup "$1"
}

# 2. The toolchain (apt-get does nothing for what is installed).
PACKAGES="g++ make python3 ca-certificates xz-utils dpkg-dev"
if ! setup_in_root "dpkg -s $PACKAGES >/dev/null 2>&1"; then
  say "apt-get install $PACKAGES (inside the root)"
  setup_in_root "apt-get update -q && apt-get install -y -q --no-install-recommends $PACKAGES"
fi

# 3. CMake >= 3.20.
if ! setup_in_root "/opt/cmake/bin/cmake --version >/dev/null 2>&1 && ls /opt/cmake/share/cmake-*/Modules/CMakeDetermineCUDACompiler.cmake >/dev/null 2>&1"; then
  say "compiling CMake from $CMAKE_SUITE's cmake source package inside the root (once; ~10 min on 2 cores)"
  setup_in_root "
    set -e
    echo 'deb-src $MIRROR $CMAKE_SUITE main' >/etc/apt/sources.list.d/cmake-source.list
    apt-get update -q
    rm -rf /opt/src/cmake && mkdir -p /opt/src/cmake && cd /opt/src/cmake
    apt-get source -q --download-only cmake/$CMAKE_SUITE
    rm /etc/apt/sources.list.d/cmake-source.list && apt-get update -q
    tar -xf cmake_*.orig.tar.* && cd cmake-*/
    ./bootstrap --parallel=$JOBS --prefix=/opt/cmake -- -DCMAKE_BUILD_TYPE=Release -DCMAKE_USE_OPENSSL=OFF -DBUILD_TESTING=OFF
    make -j$JOBS
    make install
    cd / && rm -rf /opt/src/cmake/cmake-*/"
fi
say "root ready: $(setup_in_root 'ldd --version | head -1; g++ --version | head -1; /opt/cmake/bin/cmake --version | head -1' | tr '\n' ';')"
[ "$SETUP_ONLY" = 1 ] && exit 0

# 4. The build.
BUILD_DIR=build-bullseye${VARIANT:+-$VARIANT}
TRTN_BULLSEYE_STAGE=mounted TRTN_ROOT="$ROOT" TRTN_CUDA_DIR="$CUDA" TRTN_ARCHS="$ARCHS" TRTN_JOBS="$JOBS" \
  TRTN_CLEAN="$CLEAN" TRTN_SHELL="$SHELL_ONLY" TRTN_BUILD_DIR="$BUILD_DIR" TRTN_MOUNTS="$MOUNTS" \
  unshare --mount --propagation private bash "$REPO/scripts/build-prebuild-bullseye.sh"
[ "$SHELL_ONLY" = 1 ] && exit 0
BUILT="$REPO/$BUILD_DIR/Release/tensorrt_node.node"
[ -f "$BUILT" ] || die "the build left no $BUILT"

# 5. Into prebuilds/, stripped as prebuildify --strip does, then checked.
OUT_DIR="$REPO/prebuilds/linux-x64"
OUT="$OUT_DIR/tensorrt-node${VARIANT:+.$VARIANT}.glibc.node"
mkdir -p "$OUT_DIR"
cp "$BUILT" "$OUT.tmp"
strip --strip-all "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
say "wrote $OUT ($(du -h "$OUT" | cut -f1)) in $((SECONDS - START)) s"
bash "$REPO/scripts/check-prebuild.sh" "$OUT"
