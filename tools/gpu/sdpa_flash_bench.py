#!/usr/bin/env python3
"""torch's scaled_dot_product_attention, flash backend only, causal bf16
[1 x heads x tokens x 128]: median time over --reps runs (CUDA events) and
TFLOP/s counted as bench/cuda_flash_attention_bench.cu counts them.
Prints one line: torch_sdpa_flash_tflops X."""
import argparse

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention

ap = argparse.ArgumentParser()
ap.add_argument("--heads", type=int, default=32)
ap.add_argument("--tokens", type=int, default=4096)
ap.add_argument("--head-dim", type=int, default=128)
ap.add_argument("--reps", type=int, default=30)
a = ap.parse_args()

torch.manual_seed(0)
shape = (1, a.heads, a.tokens, a.head_dim)
q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16) for _ in range(3))
with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
    for _ in range(3):
        scaled_dot_product_attention(q, k, v, is_causal=True)
    times = []
    for _ in range(a.reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        scaled_dot_product_attention(q, k, v, is_causal=True)
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
times.sort()
ms = times[len(times) // 2]
flops = 2 * 2 * a.tokens * a.tokens / 2 * a.head_dim * a.heads
print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}: {ms:.3f} ms")
print(f"torch_sdpa_flash_tflops {flops / (ms * 1e-3) / 1e12:.1f}")
