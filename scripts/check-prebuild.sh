#!/usr/bin/env bash
# Checks prebuilt addons before they are packed (npm's prepack runs it; issue 17, glibc baseline).
# For each file: `objdump -T` must show no GLIBC_ symbol version above 2.31 (MAX_GLIBC overrides)
# and no GLIBCXX_ / CXXABI_ / GCC_ version at all, and `objdump -p` no libstdc++ / libgcc_s among
# the needed libraries (both linked statically, TRTN_STATIC_RUNTIME); then node must load it and
# buildInfo().cuda must be true (the prebuild is the CUDA build), and a variant tagged cudaNN must be
# built with CUDA NN.x (the loader trusts the tag). One verdict line per file;
# exit 1 if any file fails or there is none.
#
# Usage: scripts/check-prebuild.sh [file.node ...]   (default: every prebuilds/linux-x64/*.node)
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAX_GLIBC="${MAX_GLIBC:-2.31}"
BUILD_HINT="build it with scripts/build-prebuild-bullseye.sh (npm run prebuilds:glibc; the CUDA 12 one: npm run prebuilds:cuda12)"

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi

if [ $# -eq 0 ]; then
  shopt -s nullglob
  set -- "$REPO"/prebuilds/linux-x64/*.node
  shopt -u nullglob
  if [ $# -eq 0 ]; then
    echo "check-prebuild: FAIL: no prebuilt addon in $REPO/prebuilds/linux-x64/ to pack; $BUILD_HINT" >&2
    exit 1
  fi
fi
command -v objdump >/dev/null || { echo "check-prebuild: FAIL: objdump not found (install binutils)" >&2; exit 1; }
command -v node >/dev/null || { echo "check-prebuild: FAIL: node not found" >&2; exit 1; }

# The higher of two versions (sort -V).
version_max() { printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1; }

failed=0
for file in "$@"; do
  shown="${file#"$REPO"/}"
  problems=()
  if [ ! -f "$file" ]; then
    echo "FAIL $shown: no such file"
    failed=1
    continue
  fi
  symbols="$(objdump -T "$file" 2>&1)" || {
    echo "FAIL $shown: objdump -T failed: $(printf '%s' "$symbols" | head -1)"
    failed=1
    continue
  }
  glibc="$(printf '%s\n' "$symbols" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/^GLIBC_//' | sort -Vu | tail -1)"
  [ -n "$glibc" ] || glibc="none"
  if [ "$glibc" != none ] && [ "$(version_max "$glibc" "$MAX_GLIBC")" != "$MAX_GLIBC" ]; then
    problems+=("needs GLIBC_$glibc > $MAX_GLIBC ($(printf '%s\n' "$symbols" | grep -E "GLIBC_$glibc\b" | awk '{print $NF}' | sort -u | head -5 | tr '\n' ' ' | sed 's/ $//'))")
  fi
  private="$(printf '%s\n' "$symbols" | grep -c 'GLIBC_PRIVATE')"
  [ "$private" -gt 0 ] && problems+=("uses GLIBC_PRIVATE symbols")
  # The highest version of each (GLIBCXX_3.4.30 implies the lower ones).
  cxx="$(printf '%s\n' "$symbols" | grep -oE '\b(GLIBCXX|CXXABI|GCC)_[0-9.]+' | sort -Vu |
    awk -F_ '{top[$1] = $0} END {for (k in top) printf "%s ", top[k]}' | sed 's/ $//')"
  [ -n "$cxx" ] && problems+=("needs $cxx (libstdc++ / libgcc not linked statically)")
  needed="$(objdump -p "$file" | awk '$1 == "NEEDED" {print $2}' | tr '\n' ' ' | sed 's/ $//')"
  case " $needed " in *" libstdc++.so"*|*" libgcc_s.so"*) problems+=("links $needed") ;; esac

  # Load it as the package would, in a fresh process.
  info="$(node -e '
    const b = require(process.argv[1]).buildInfo();
    console.log(JSON.stringify({ cuda: b.cuda, cudaVersion: b.cudaVersion, archs: b.cudaArchs, backends: b.backends, note: b.note }));
  ' "$(readlink -f "$file")" 2>&1)"
  if [ $? -ne 0 ]; then
    problems+=("node cannot load it: $(printf '%s' "$info" | grep -m1 -E 'Error|error' || printf '%s' "$info" | head -1)")
    loaded=""
  else
    loaded="$(node -e '
      const b = JSON.parse(process.argv[1]);
      if (!b.cuda) { console.log("NOCUDA " + (b.note || "")); process.exit(0); }
      console.log(`CUDA ${b.cudaVersion} ${[].concat(b.archs).join(",")}, backends ${b.backends.join(",")}`);
    ' "$info")"
    case "$loaded" in NOCUDA*) problems+=("buildInfo().cuda is false (${loaded#NOCUDA })") ;; esac
    # A variant's tag names its CUDA (tensorrt-node.cuda12.glibc.node: 12.x), as the loader trusts.
    tag="$(basename "$file" | tr '.' '\n' | grep -m1 -E '^cuda[0-9]+$' || true)"
    case "$loaded" in
      "CUDA ${tag#cuda}."*|NOCUDA*) ;;
      *) [ -n "$tag" ] && problems+=("its tag says ${tag} but it was built with ${loaded%%,*}") ;;
    esac
  fi

  size="$(du -h "$file" | cut -f1)"
  if [ ${#problems[@]} -eq 0 ]; then
    echo "PASS $shown ($size): max GLIBC_$glibc <= $MAX_GLIBC, no GLIBCXX_/CXXABI_/GCC_, needs [$needed], $loaded"
  else
    echo "FAIL $shown ($size): $(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g'); $BUILD_HINT"
    failed=1
  fi
done
exit $failed
