#!/usr/bin/env bash
# The GPU check, run on the GPU machine from the repo root:
#   1. build Release with the CUDA backend for sm_90a (H100 / H200);
#   2. run the GPU tests (the CUDA column of the op tests, whole-model CUDA tests),
#      the benchmarks' synthetic models being written meanwhile;
#   3. benchmark flash attention against torch's SDPA (cuda_flash_attention_bench),
#      the decode matvec variants (cuda_matvec_bench),
#      and `bench --device cuda` on synthetic Llama-shaped models
#      (and llama.cpp's llama-bench on the same files when LLAMA_BENCH is set),
#      plus the card's measured device-to-device copy bandwidth (torch);
#   4. print a short table last.
# Carry .gpu-deps (tools/gpu/pack-deps.sh) with the run.
# Environment: BUILD_DIR (default build-gpu), PRESETS (default "7b"),
# TYPES (default "q4_0 q8_0"), MODELS_DIR (default /tmp/ma-models),
# LLAMA_BENCH (path to a CUDA llama-bench, optional), REPS (default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${BUILD_DIR:-build-gpu}"
models="${MODELS_DIR:-/tmp/ma-models}"
reps="${REPS:-3}"
export PATH="/usr/local/cuda/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }

step "build ($build, sm_90a)"
g++ --version | head -1
nvcc --version | tail -1
# The Debian libraries, packed by tools/gpu/pack-deps.sh (the GPU machine has none).
prefix=()
[[ -d .gpu-deps ]] && prefix=(-DCMAKE_PREFIX_PATH="$PWD/.gpu-deps")
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMA_BUILD_TESTS=ON "${prefix[@]}" \
  -DMA_CUDA_GENCODE="-gencode=arch=compute_90a,code=sm_90a" >/dev/null
cmake --build "$build" -j"$(nproc)" --target metal-attention ma_tests cuda_flash_attention_bench \
  cuda_matvec_bench
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# The benchmarks' synthetic models, written in the background (on the CPU)
# while the tests and the kernel benchmarks run: the Q4_K_M ones take
# minutes. Each goes to a temporary name first, so a stopped run leaves
# no partial file behind.
step "synthetic models (background)"
mkdir -p "$models"
vocab=""
for v in ../shared/vocab/ggml-vocab-llama-spm.gguf ../shared/vocab/ggml-vocab-llama-bpe.gguf; do
  [[ -f "$v" ]] && vocab="--vocab-from $v" && break
done
synth_pids=()
for preset in ${PRESETS:-7b}; do
  for type in ${TYPES:-q4_0 q8_0}; do
    f="$models/llama-$preset-$type.gguf"
    [[ -f "$f" ]] && continue
    echo "writing $f"
    ("$build/metal-attention" synth -q --arch llama --preset "$preset" --type "$type" $vocab \
      -o "$f.partial" >/dev/null && mv "$f.partial" "$f") &
    synth_pids+=($!)
  done
done

step "GPU tests"
"$build/ma_tests" --gtest_filter='*cuda*:*Cuda*' --gtest_brief=1 | tee /tmp/ma-gpu-tests.txt || true
tests_line="$(grep -E '^\[  (PASSED|FAILED)' /tmp/ma-gpu-tests.txt | tr '\n' ' ')"

step "flash attention vs torch SDPA (bf16, d 128, 4k tokens, 32 heads, causal)"
"$build/cuda_flash_attention_bench" | tee /tmp/ma-flash.txt || true
flash_line="$(grep '^best ours' /tmp/ma-flash.txt || echo 'flash attention: n/a')"

step "decode matvecs on Llama-7B shapes (Q4_0) against a streaming read"
"$build/cuda_matvec_bench" || true

step "copy bandwidth"
bw="$(python3 - <<'PY' 2>/dev/null || echo "n/a"
import torch
n = 1 << 30
a = torch.empty(n, dtype=torch.uint8, device="cuda")
b = torch.empty_like(a)
for _ in range(3):
    b.copy_(a)
torch.cuda.synchronize()
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
s.record()
for _ in range(20):
    b.copy_(a)
e.record()
torch.cuda.synchronize()
print(f"{2 * n * 20 / (s.elapsed_time(e) / 1e3) / 1e9:.0f}")
PY
)"
echo "device-to-device copy: ${bw} GB/s (read + write)"

step "benchmarks"
for pid in "${synth_pids[@]}"; do
  wait "$pid" || { echo "writing a synthetic model failed" >&2; exit 1; }
done
rows=()
for preset in ${PRESETS:-7b}; do
  for type in ${TYPES:-q4_0 q8_0}; do
    f="$models/llama-$preset-$type.gguf"
    size=$(stat -c %s "$f")
    # The floor's bytes: the weights a decode token reads (not the embedding table).
    read_bytes=$("$build/metal-attention" info --json -m "$f" |
      python3 -c 'import sys,json; print(json.load(sys.stdin)["decode_bytes"])')
    ours="$("$build/metal-attention" bench -m "$f" --device cuda -p 512 -n 128 -r "$reps" --json)"
    echo "$ours"
    pp=$(echo "$ours" | python3 -c 'import sys,json; print([json.loads(l)["avg_ts"] for l in sys.stdin if l.strip()][0])')
    tg=$(echo "$ours" | python3 -c 'import sys,json; print([json.loads(l)["avg_ts"] for l in sys.stdin if l.strip()][1])')
    lpp="-" ltg="-"
    if [[ -n "${LLAMA_BENCH:-}" ]]; then
      theirs="$("$LLAMA_BENCH" -m "$f" -p 512 -n 128 -r "$reps" -ngl 99 -o jsonl 2>/dev/null)"
      echo "$theirs"
      lpp=$(echo "$theirs" | python3 -c 'import sys,json; print([json.loads(l)["avg_ts"] for l in sys.stdin if l.strip()][0])')
      ltg=$(echo "$theirs" | python3 -c 'import sys,json; print([json.loads(l)["avg_ts"] for l in sys.stdin if l.strip()][1])')
    fi
    eager="$(MA_CUDA_GRAPHS=0 "$build/metal-attention" bench -m "$f" --device cuda -p 0 -n 128 \
      -r "$reps" --json | python3 -c 'import sys,json; print(json.loads(sys.stdin.readline())["avg_ts"])')"
    echo "tg128 without CUDA graphs: $eager t/s"
    nopdl="$(MA_CUDA_PDL=0 "$build/metal-attention" bench -m "$f" --device cuda -p 0 -n 128 \
      -r "$reps" --json | python3 -c 'import sys,json; print(json.loads(sys.stdin.readline())["avg_ts"])')"
    echo "tg128 without programmatic dependent launch: $nopdl t/s"
    rows+=("$preset $type $size $read_bytes $pp $tg $lpp $ltg")
  done
done

step "summary"
echo "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)   tests: $tests_line"
echo "copy bandwidth: $bw GB/s; floor = weight bytes per token / bandwidth"
echo "flash attention, $flash_line"
python3 - "$bw" "${rows[@]}" <<'PY'
import sys
bw = sys.argv[1]
print(f"| model | size GiB | pp512 t/s | tg128 t/s | llama.cpp pp512 | llama.cpp tg128 | pp ratio | tg ratio | tg % of floor |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for row in sys.argv[2:]:
    preset, typ, size, read, pp, tg, lpp, ltg = row.split()
    size, read, pp, tg = int(size), int(read), float(pp), float(tg)
    ratio = lambda a, b: f"{a / float(b):.2f}x" if b != "-" else "-"
    floor = f"{100 * tg * read / (float(bw) * 1e9):.1f}%" if bw != "n/a" else "-"
    print(f"| {preset} {typ} | {size / 2**30:.2f} | {pp:.0f} | {tg:.1f} | {lpp} | {ltg} | "
          f"{ratio(pp, lpp)} | {ratio(tg, ltg)} | {floor} |")
PY
