#!/usr/bin/env bash
# The README's first command: install dependencies, build, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target metal-attention
# The demo model ships with the repo (docs/demo-model.md says how it was made).
build/metal-attention run -m models/demo-llama.gguf -p "Once upon a time" -n 160
