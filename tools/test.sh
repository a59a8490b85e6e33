#!/usr/bin/env bash
# The README's test command: every test, as CI runs it.
#   1. Release build, all tests
#   2. Debug build with AddressSanitizer + UBSan, all tests but the
#      whole-corpus perplexity comparisons
#   3. the GGUF reader fuzzer for 60 s (clang, libFuzzer)
#   4. clang-format check
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
start=$SECONDS
# Each step's header says how long the run has taken so far (CI's budget).
step() { printf '\n== %s (%ds in)\n' "$*" "$((SECONDS - start))"; }

step "format check"
tools/format.sh --check

step "release build + tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

step "asan/ubsan build + tests"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DMA_SANITIZE=ON >/dev/null
cmake --build build/asan -j"$jobs"
# The whole-corpus perplexity comparisons (*PerplexityMatches*) run in the
# release pass only: they were the sanitizer pass's slowest tests (Mamba's
# alone 153 s) and run no code that the shorter model tests and the CLI
# perplexity tests do not also run here.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j"$jobs" -E 'PerplexityMatches'

step "fuzz the GGUF reader (${MA_FUZZ_SECONDS:-60} s)"
tools/fuzz.sh "${MA_FUZZ_SECONDS:-60}"

step "all tests passed"
