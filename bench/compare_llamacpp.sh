#!/usr/bin/env bash
# Measures metal-attention against llama.cpp's llama-bench on the same GGUF
# files, same machine, same run, and prints tokens/s and ratios.
#   bench/compare_llamacpp.sh LLAMA_BENCH_BINARY MODEL.gguf [MODEL.gguf ...]
# Env: THREADS (default: nproc), PP (512), TG (128), REPS (3), MA (build/metal-attention).
# llama.cpp is built by hand outside this repository (see bench/RESULTS.md).
set -euo pipefail
llama_bench="$1"
shift
ma="${MA:-build/metal-attention}"
threads="${THREADS:-$(nproc)}"
pp="${PP:-512}"
tg="${TG:-128}"
reps="${REPS:-3}"
avg() {  # avg_ts of the JSON line whose n_prompt/n_gen match
  python3 -c '
import json, sys
want_p, want_g = int(sys.argv[1]), int(sys.argv[2])
text = sys.stdin.read().strip()
rows = json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines() if l.startswith("{")]
for r in rows:
    if r["n_prompt"] == want_p and r["n_gen"] == want_g:
        print("%.2f" % r["avg_ts"])
' "$1" "$2"
}
printf '| model | test | metal-attention t/s | llama.cpp t/s | ratio |\n|---|---|---:|---:|---:|\n'
for model in "$@"; do
  ours=$("$ma" bench -m "$model" -p "$pp" -n "$tg" -r "$reps" -t "$threads" --json)
  theirs=$("$llama_bench" -m "$model" -p "$pp" -n "$tg" -r "$reps" -t "$threads" -o json 2>/dev/null)
  for test in "pp $pp 0" "tg 0 $tg"; do
    set -- $test
    a=$(echo "$ours" | avg "$2" "$3")
    b=$(echo "$theirs" | avg "$2" "$3")
    ratio=$(python3 -c "print('%.2f' % ($a / $b))")
    printf '| %s | %s%s | %s | %s | %s |\n' "$(basename "$model")" "$1" "$([ "$1" = pp ] && echo "$pp" || echo "$tg")" "$a" "$b" "$ratio"
  done
done
