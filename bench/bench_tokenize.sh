#!/bin/sh
# Tokenizes about 1 MB of English text with the llama-bpe vocabulary and
# prints the speed. Usage: bench/bench_tokenize.sh [BUILD_DIR] [TEXT_FILE]
set -e
build=${1:-build}
text=${2:-}
vocab="$(dirname "$0")/../../shared/vocab/ggml-vocab-llama-bpe.gguf"
if [ -z "$text" ]; then
  text=$(mktemp)
  trap 'rm -f "$text"' EXIT
  # Repeat the repository's own English prose up to 1 MiB.
  while [ "$(wc -c < "$text")" -lt 1048576 ]; do cat "$(dirname "$0")"/../docs/*.md >> "$text"; done
  head -c 1048576 "$text" > "$text.cut" && mv "$text.cut" "$text"
fi
for i in 1 2 3; do
  "$build/metal-attention" tokenize -m "$vocab" -f "$text" --ids --no-bos --time > /dev/null
done
