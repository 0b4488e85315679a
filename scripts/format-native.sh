#!/usr/bin/env bash
# Formats native/ (C++ and CUDA) with clang-format and the repository's .clang-format.
#   scripts/format-native.sh           rewrite the files in place
#   scripts/format-native.sh --check   list the files that differ and exit 1 (CI)
# Needs clang-format 14 or newer (Debian: apt-get install clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format is missing (apt-get install clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files 'native/*.cc' 'native/*.h' 'native/*.cu' 'native/*.cuh')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s "$f" -; then echo "not formatted: $f"; bad=1; fi
  done
  [ $bad = 0 ] && echo "native/ is formatted (${#files[@]} files, $(clang-format --version | grep -o 'version [0-9.]*'))"
  [ $bad = 0 ] || echo "run scripts/format-native.sh to format them" >&2
  exit $bad
fi
clang-format --style=file -i "${files[@]}"
