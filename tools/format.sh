#!/usr/bin/env bash
# Formats our C++ sources with the repo's .clang-format; --check only reports.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  '*.cpp' '*.h' '*.hpp' '*.cu' '*.cuh')
[ "${#files[@]}" -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run -Werror "${files[@]}"
  echo "format ok (${#files[@]} files)"
else
  clang-format -i "${files[@]}"
fi
