#!/usr/bin/env bash
# The README's first command: install dependencies, build, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target metal-attention
shared="${MA_SHARED_DIR:-../shared}"
build/metal-attention info -m "$shared/models/stories260K.gguf"
