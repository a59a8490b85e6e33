#!/usr/bin/env bash
# Builds the GGUF reader fuzzer with clang and runs it for N seconds (default 60)
# from a seed corpus of real GGUF files. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shared="${MA_SHARED_DIR:-$(pwd)/../shared}"
build=build/fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMA_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_gguf >/dev/null
work="$build/corpus"
rm -rf "$work" && mkdir -p "$work"
# Seeds: the small real files (the fuzzer truncates to -max_len) plus our hostile cases.
if [ -d "$shared" ]; then
  find "$shared" -name '*.gguf' -size -4M -exec cp {} "$work"/ \;
elif [ "${CI:-}" = "true" ]; then
  echo "fuzz: shared data missing at $shared" >&2; exit 1
fi
cp fuzz/seeds/* "$work"/ 2>/dev/null || true
"$build/fuzz_gguf" "$work" -max_total_time="$seconds" -max_len=262144 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 15
