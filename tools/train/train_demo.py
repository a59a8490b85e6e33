#!/usr/bin/env python3
"""Train a demo model on procedural stories: the ~5M-parameter Llama (--arch llama,
the default) or a tiny Mamba, Mamba-2, Jamba, Zamba-2 or RecurrentGemma
(--arch mamba|mamba2|jamba|zamba2|recurrentgemma), each
with transformers' own class, or a tiny RWKV-7 (--arch rwkv7) with our own
model definition (rwkv7_model.py, since transformers has none; its chunked
training path is checked against the fp64 recurrence before training).

Pipeline (all in one process, GPU recommended):
  1. generate the corpus with tools/corpus/story_grammar.py (seed --corpus-seed,
     until --corpus-mb megabytes of text);
  2. train a byte-level BPE tokenizer (HF `tokenizers`, vocab 2048:
     <unk>=0, <s>=1, </s>=2; ByteLevel pre-tokenizer without prefix space,
     ByteLevel decoder) and save it as a PreTrainedTokenizerFast;
  3. train the model (LlamaForCausalLM with GQA and tied embeddings, or
     MambaForCausalLM / Mamba2ForCausalLM / JambaForCausalLM; shapes in
     ARCH_DEFAULTS) on <s> story </s> streams packed into --ctx windows, bf16
     autocast, AdamW, cosine LR;
  4. save the HF folder (float16 safetensors), reload it, report train and
     held-out loss of the saved weights, and print sample generations.

    python3 tools/train/train_demo_llama.py --out /tmp/demo-llama

Only torch, transformers, tokenizers and safetensors are needed.
"""

import argparse
import inspect
import json
import math
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "corpus"))
import story_grammar  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def log(*a):
    print(*a, flush=True)


# --------------------------------------------------------------------------
# corpus and tokenizer
# --------------------------------------------------------------------------

SHARD_MB = 40.0


def corpus_shard(seed_mb):
    seed, megabytes = seed_mb
    out, total = [], 0
    target = int(megabytes * 1e6)
    for s in story_grammar.stories(seed, 10 ** 9):
        out.append(s)
        total += len(s) + 2
        if total >= target:
            break
    return out


def corpus_seeds(seed, megabytes):
    """Shard k of SHARD_MB megabytes uses seed (k == 0) or seed*1000+k."""
    n = max(1, int(math.ceil(megabytes / SHARD_MB)))
    return [(seed if k == 0 else seed * 1000 + k,
             min(SHARD_MB, megabytes - k * SHARD_MB)) for k in range(n)]


def make_corpus(seed, megabytes):
    """Returns a list of shards (lists of stories), generated in parallel."""
    jobs = corpus_seeds(seed, megabytes)
    if len(jobs) == 1:
        return [corpus_shard(jobs[0])]
    import multiprocessing as mp
    with mp.get_context("fork").Pool(min(len(jobs), os.cpu_count() or 1)) as pool:
        return pool.map(corpus_shard, jobs)


def read_stories(path):
    with open(path, encoding="utf-8") as f:
        return [s.strip("\n") for s in f.read().split("\n\n") if s.strip()]


def train_tokenizer(stories, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[UNK, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(stories, trainer=trainer, length=len(stories))
    assert tok.token_to_id(UNK) == 0 and tok.token_to_id(BOS) == 1 and tok.token_to_id(EOS) == 2
    # Like Llama: encode() with special tokens adds BOS only.
    tok.post_processor = processors.TemplateProcessing(
        single=BOS + " $A", pair=BOS + " $A " + BOS + " $B", special_tokens=[(BOS, 1)])
    return tok


def save_tokenizer(tok, out, ctx):
    from transformers import PreTrainedTokenizerFast
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS,
                                 unk_token=UNK, model_max_length=ctx)
    hf.save_pretrained(out)
    # Make the side files explicit whatever the transformers version writes.
    cfg_path = os.path.join(out, "tokenizer_config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    cfg.update({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": BOS,
                "eos_token": EOS, "unk_token": UNK, "add_bos_token": True,
                "add_eos_token": False, "model_max_length": ctx,
                "clean_up_tokenization_spaces": False})
    json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
    stm = os.path.join(out, "special_tokens_map.json")
    if not os.path.exists(stm):
        json.dump({"bos_token": BOS, "eos_token": EOS, "unk_token": UNK},
                  open(stm, "w"), indent=2, sort_keys=True)
    return hf


def encode_stories(tok, stories):
    encs = tok.encode_batch(stories, add_special_tokens=False)
    return [[1] + e.ids + [2] for e in encs]


def encode_flat(tok, stories, chunk=20000):
    """All stories as one int32 stream <s> story </s> <s> story </s> ..."""
    from array import array
    buf = array("i")
    for i in range(0, len(stories), chunk):
        for e in tok.encode_batch(stories[i:i + chunk], add_special_tokens=False):
            buf.append(1)
            buf.extend(e.ids)
            buf.append(2)
    return torch.frombuffer(bytearray(buf.tobytes()), dtype=torch.int32)


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------

def llama_config(args, vocab):
    from transformers import LlamaConfig
    kw = dict(vocab_size=vocab, hidden_size=args.hidden, intermediate_size=args.ffn,
              num_hidden_layers=args.layers, num_attention_heads=args.heads,
              num_key_value_heads=args.kv_heads, max_position_embeddings=args.ctx,
              rms_norm_eps=1e-5, hidden_act="silu", tie_word_embeddings=True,
              attention_bias=False, mlp_bias=False, initializer_range=0.02,
              bos_token_id=1, eos_token_id=2, pad_token_id=None, use_cache=True)
    if "rope_parameters" in inspect.signature(LlamaConfig.__init__).parameters:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0}
    else:
        kw["rope_theta"] = 10000.0
    return LlamaConfig(**kw)


# Per-architecture shapes, sized so the F16 GGUF stays under 10 MB.
ARCH_DEFAULTS = {
    "llama": dict(hidden=256, layers=6, heads=8, kv_heads=4, ffn=688),
    "mamba": dict(hidden=256, layers=8),
    "mamba2": dict(hidden=256, layers=8, heads=8),  # 8 heads of 64 over d_inner 512
    # M A M M A M with MoE (4 experts, top 2) on layers 1, 3 and 5.
    "jamba": dict(hidden=192, layers=6, heads=6, kv_heads=2, ffn=256),
    # m m A m m A m m: one shared block (4 heads of 96 over concat width 384,
    # MLP 384) applied twice with rank-8 adapters; Mamba-2 with 6 heads of 64.
    "zamba2": dict(hidden=192, layers=8, heads=4, ffn=384),
    # G G A G G A: RG-LRU width 192, MQA (4 heads of 48, 1 KV head) over a
    # 64-token window, GeGLU MLP 2 x 384.
    "recurrentgemma": dict(hidden=192, layers=6, heads=4, ffn=768),
    # 3 heads of 64; low-rank widths 32 (decay, learning rate, value mix)
    # and 64 (gate), flash-linear-attention's defaults for this width.
    "rwkv7": dict(hidden=192, layers=6, heads=3, ffn=768),
}


def model_config(args, vocab):
    common = dict(vocab_size=vocab, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                  pad_token_id=0)
    if args.arch == "llama":
        return llama_config(args, vocab)
    if args.arch == "rwkv7":
        import rwkv7_model
        return rwkv7_model.Rwkv7Config(vocab_size=vocab, hidden_size=args.hidden,
                                       num_hidden_layers=args.layers,
                                       head_dim=args.hidden // args.heads,
                                       intermediate_size=args.ffn, decay_low_rank_dim=32,
                                       a_low_rank_dim=32, v_low_rank_dim=32,
                                       gate_low_rank_dim=64, max_position_embeddings=args.ctx,
                                       bos_token_id=1, eos_token_id=2, pad_token_id=0)
    if args.arch == "mamba":
        from transformers import MambaConfig
        return MambaConfig(hidden_size=args.hidden, num_hidden_layers=args.layers, state_size=16,
                           expand=2, conv_kernel=4, use_bias=False, use_conv_bias=True,
                           layer_norm_epsilon=1e-5, use_mambapy=True, residual_in_fp32=False,
                           **common)
    if args.arch == "mamba2":
        from transformers import Mamba2Config
        return Mamba2Config(hidden_size=args.hidden, num_hidden_layers=args.layers,
                            num_heads=args.heads, head_dim=2 * args.hidden // args.heads,
                            state_size=64, n_groups=1, expand=2, conv_kernel=4, chunk_size=64,
                            use_bias=False, use_conv_bias=True, rms_norm=True,
                            layer_norm_epsilon=1e-5, residual_in_fp32=False, **common)
    if args.arch == "recurrentgemma":
        from transformers import RecurrentGemmaConfig
        return RecurrentGemmaConfig(
            hidden_size=args.hidden, num_hidden_layers=args.layers, intermediate_size=args.ffn,
            num_attention_heads=args.heads, num_key_value_heads=1, lru_width=args.hidden,
            attention_window_size=64, conv1d_width=4, logits_soft_cap=30.0, rms_norm_eps=1e-6,
            hidden_activation="gelu_pytorch_tanh", attention_bias=False,
            block_types=["recurrent", "recurrent", "attention"], **common)
    if args.arch == "zamba2":
        from transformers import Zamba2Config
        # Newer transformers call Mamba layers "linear_attention", older ones "mamba".
        m = next(t for t in Zamba2Config().layers_block_type if t != "hybrid")
        types = [m, m, "hybrid", m, m, "hybrid", m, m][:args.layers]
        return Zamba2Config(hidden_size=args.hidden, num_hidden_layers=len(types),
                            layers_block_type=types, num_attention_heads=args.heads,
                            num_key_value_heads=args.heads, intermediate_size=args.ffn,
                            hidden_act="gelu", num_mem_blocks=1,
                            use_shared_attention_adapter=True, adapter_rank=8,
                            use_mem_rope=True, mamba_d_state=64, mamba_d_conv=4,
                            mamba_expand=2, mamba_headdim=64,
                            n_mamba_heads=2 * args.hidden // 64, mamba_ngroups=1,
                            chunk_size=64, rms_norm_eps=1e-5, max_position_embeddings=2048,
                            use_mem_eff_path=False, **common)
    from transformers import JambaConfig
    return JambaConfig(hidden_size=args.hidden, num_hidden_layers=args.layers,
                       intermediate_size=args.ffn, num_attention_heads=args.heads,
                       num_key_value_heads=args.kv_heads, num_experts=4, num_experts_per_tok=2,
                       expert_layer_period=2, expert_layer_offset=1, attn_layer_period=3,
                       attn_layer_offset=1, use_mamba_kernels=False, mamba_d_state=16,
                       mamba_d_conv=4, mamba_expand=2, mamba_conv_bias=True,
                       mamba_proj_bias=False, rms_norm_eps=1e-6, hidden_act="silu",
                       max_position_embeddings=2048, **common)  # no RoPE: any length


def model_class(arch):
    if arch == "rwkv7":
        import rwkv7_model
        return rwkv7_model.RWKV7ForCausalLM
    import transformers as tf
    return {"llama": tf.LlamaForCausalLM, "mamba": tf.MambaForCausalLM,
            "mamba2": tf.Mamba2ForCausalLM, "jamba": tf.JambaForCausalLM,
            "zamba2": tf.Zamba2ForCausalLM,
            "recurrentgemma": tf.RecurrentGemmaForCausalLM}[arch]


def patch_config_json(folder, arch):
    """Llama: also write the classic top-level rope_theta (transformers 5 nests
    it). Mamba-2: drop time_step_limit (0, inf), the default, since inf is no JSON."""
    p = os.path.join(folder, "config.json")
    c = json.load(open(p))
    if arch == "mamba2":
        c.pop("time_step_limit", None)
    if arch == "llama" and "rope_theta" not in c:
        rp = c.get("rope_parameters") or {}
        c["rope_theta"] = float(rp.get("rope_theta", 10000.0))
    json.dump(c, open(p, "w"), indent=2, sort_keys=True)
    return c


@torch.no_grad()
def windowed_perplexity(model, ids, n_ctx, device):
    """Perplexity the way llama.cpp's llama-perplexity computes it: the token
    stream in non-overlapping windows of n_ctx, each starting with BOS, only
    the second half of each window scored. `ids` starts with BOS."""
    model.eval()
    nll, count = 0.0, 0
    for c in range(len(ids) // n_ctx):
        w = list(ids[c * n_ctx:(c + 1) * n_ctx])
        w[0] = 1
        x = torch.tensor([w], device=device)
        logp = torch.log_softmax(model(input_ids=x).logits[0].double(), -1)
        first = n_ctx // 2
        for j in range(first, n_ctx - 1):
            nll -= logp[j, w[j + 1]].item()
            count += 1
    model.train()
    return math.exp(nll / max(count, 1))


@torch.no_grad()
def story_loss(model, seqs, ctx, device, batch=64):
    """Mean next-token loss over whole stories (each from its <s>), fp32."""
    model.eval()
    tot, n = 0.0, 0
    seqs = [s[:ctx + 1] for s in seqs]
    for i in range(0, len(seqs), batch):
        chunk = seqs[i:i + batch]
        L = max(len(s) for s in chunk)
        x = torch.zeros(len(chunk), L, dtype=torch.long)
        m = torch.zeros(len(chunk), L, dtype=torch.bool)
        for j, s in enumerate(chunk):
            x[j, :len(s)] = torch.tensor(s)
            m[j, :len(s)] = True
        x, m = x.to(device), m.to(device)
        logits = model(input_ids=x[:, :-1]).logits.float()
        tgt = x[:, 1:]
        mask = m[:, 1:]
        ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), reduction="none")
        tot += ce[mask.reshape(-1)].sum().item()
        n += mask.sum().item()
    model.train()
    return tot / max(n, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--arch", choices=sorted(ARCH_DEFAULTS), default="llama")
    ap.add_argument("--corpus-seed", type=int, default=1)
    ap.add_argument("--corpus-mb", type=float, default=200.0,
                    help="training text; the tokenizer is trained on the first %g MB shard" % SHARD_MB)
    ap.add_argument("--heldout", default=os.path.join(REPO, "tests/fixtures/corpus/heldout.txt"))
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--kv-heads", type=int)
    ap.add_argument("--ffn", type=int)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=0, help="0: fit --time-budget")
    ap.add_argument("--time-budget", type=float, default=180.0, help="seconds of training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-dtype", default="float16", choices=["float16", "float32"])
    ap.add_argument("--samples", default=os.path.join(REPO, "tests/fixtures/corpus/sample-prompts.txt"))
    ap.add_argument("--samples-out", default="")
    args = ap.parse_args()
    for k, v in ARCH_DEFAULTS[args.arch].items():
        if getattr(args, k) is None:
            setattr(args, k, v)

    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.out, exist_ok=True)
    import transformers
    log("torch", torch.__version__, "transformers", transformers.__version__, "device", device,
        torch.cuda.get_device_name() if device == "cuda" else "")

    t0 = time.time()
    shards = make_corpus(args.corpus_seed, args.corpus_mb)
    stories = [s for sh in shards for s in sh]
    log("corpus: %d stories, %.1f MB, shards (seed, MB) %s, in %.1fs" % (
        len(stories), sum(len(s) + 2 for s in stories) / 1e6,
        corpus_seeds(args.corpus_seed, args.corpus_mb), time.time() - t0))

    t0 = time.time()
    tok = train_tokenizer(shards[0], args.vocab)
    save_tokenizer(tok, args.out, args.ctx)
    log("tokenizer: vocab %d in %.1fs" % (tok.get_vocab_size(), time.time() - t0))

    t0 = time.time()
    flat = encode_flat(tok, stories)
    held = encode_stories(tok, read_stories(args.heldout))
    train_eval = encode_stories(tok, stories[:: max(1, len(stories) // 256)][:256])
    ntok = flat.numel()
    log("tokens: %d train (%.2f chars/token), %d held-out stories, in %.1fs" % (
        ntok, sum(len(s) for s in stories) / ntok, len(held), time.time() - t0))
    data = flat.to(device)

    cls = model_class(args.arch)
    if args.arch == "rwkv7":
        import rwkv7_model
        rwkv7_model.self_check(device, log)  # the training path against the fp64 recurrence
    cfg = model_config(args, tok.get_vocab_size())
    model = cls(cfg).float().to(device)
    nparams = sum(p.numel() for p in model.parameters())
    log("model: %d parameters, config: %s" % (nparams, cfg.to_json_string()))

    # No decay on norms, biases and the SSM's A_log (2-D, but decay would pull A to -1),
    # nor on RWKV-7's lerps and per-channel vectors (some 2-D or 3-D).
    def decays(n, p):
        if args.arch == "rwkv7":
            return p.dim() >= 2 and n.endswith(".weight")
        return p.dim() >= 2 and not n.endswith("A_log")
    decay = [p for n, p in model.named_parameters() if decays(n, p)]
    nodecay = [p for n, p in model.named_parameters() if not decays(n, p)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                            fused=(device == "cuda"))
    gen = torch.Generator(device="cpu").manual_seed(args.seed + 1)
    B, T = args.batch, args.ctx

    def batch():
        ix = torch.randint(0, ntok - T - 1, (B,), generator=gen)
        idx = ix[:, None] + torch.arange(T + 1)[None, :]
        w = data[idx.to(device)].long()
        return w[:, :-1], w[:, 1:]

    def lr_at(step, total):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = min(1.0, (step - args.warmup) / max(1, total - args.warmup))
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    def train_step(step, total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total)
        x, y = batch()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=(device == "cuda")):
            logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    model.train()
    total = args.steps if args.steps > 0 else 10 ** 9
    step = 0
    t_train = time.time()
    # Calibrate: time 60 steps (after 10 warm-up steps), then fix the step count.
    if args.steps <= 0:
        for _ in range(10):
            train_step(step, args.warmup * 20)
            step += 1
        if device == "cuda":
            torch.cuda.synchronize()
        tc = time.time()
        for _ in range(60):
            train_step(step, args.warmup * 20)
            step += 1
        if device == "cuda":
            torch.cuda.synchronize()
        per = (time.time() - tc) / 60
        total = max(step + 1, int((args.time_budget - (time.time() - t_train)) / per) + step)
        log("calibration: %.1f ms/step, %.0f tokens/s -> %d steps" % (per * 1e3, B * T / per, total))
    ema = None
    while step < total:
        loss = train_step(step, total)
        step += 1
        if step % 100 == 0 or step == total:
            lv = loss.item()
            ema = lv if ema is None else 0.9 * ema + 0.1 * lv
            msg = "step %5d/%d  loss %.4f  (ema %.4f)  lr %.2e  %.0fs" % (
                step, total, lv, ema, lr_at(step - 1, total), time.time() - t_train)
            if step % 1000 == 0 or step == total:
                msg += "  held-out %.4f" % story_loss(model, held, T, device)
            log(msg)
    train_time = time.time() - t_train
    log("trained %d steps (%d tokens, %.2f epochs) in %.1fs" % (
        total, total * B * T, total * B * T / ntok, train_time))

    # ---- save ---------------------------------------------------------------
    save_dtype = torch.float16 if args.save_dtype == "float16" else torch.float32
    model.eval()
    fp32_held = story_loss(model, held, T, device)
    fp32_train = story_loss(model, train_eval, T, device)
    try:
        model.to(save_dtype).save_pretrained(args.out)
    except Exception:
        traceback.print_exc()
        from safetensors.torch import save_file
        sd = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()
              if k != "lm_head.weight"}
        save_file(sd, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
        cfg.save_pretrained(args.out)
    patch_config_json(args.out, args.arch)
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out))}
    log("saved", args.out, sizes, "total %.2f MiB" % (sum(sizes.values()) / 2 ** 20))

    # ---- reload and report ---------------------------------------------------
    summary = {"parameters": nparams, "steps": total, "batch": B, "ctx": T,
               "train_tokens_seen": total * B * T, "corpus_tokens": ntok,
               "corpus_stories": len(stories), "train_seconds": round(train_time, 1),
               "fp32_train_loss": fp32_train, "fp32_heldout_loss": fp32_held}
    try:
        from transformers import AutoTokenizer
        m2 = cls.from_pretrained(args.out, dtype=torch.float32).to(device).eval()
        summary["saved_train_loss"] = story_loss(m2, train_eval, T, device)
        summary["saved_heldout_loss"] = story_loss(m2, held, T, device)
        # The reference for our engine's `perplexity -c 128` on the same text.
        held_text = open(args.heldout, encoding="utf-8").read()
        held_ids = tok.encode(held_text, add_special_tokens=True).ids
        summary["heldout_ppl_llamacpp_method_c128"] = windowed_perplexity(m2, held_ids, 128, device)
        log("summary:", json.dumps(summary, indent=1))
        hf_tok = AutoTokenizer.from_pretrained(args.out)
        prompts = ["Once upon a time"]
        if os.path.exists(args.samples):
            prompts += [l.rstrip("\n") for l in open(args.samples) if l.strip()][1:]
        lines = []
        for k, prompt in enumerate(prompts):
            ids = hf_tok(prompt, return_tensors="pt")["input_ids"]
            if ids[0, 0].item() != 1:
                ids = torch.cat([torch.tensor([[1]]), ids], dim=1)
            ids = ids.to(device)
            runs = [("greedy", dict(do_sample=False))]
            nsamp = 3 if k == 0 else 1
            runs += [("sampled T=0.8 #%d" % i, dict(do_sample=True, temperature=0.8, top_k=0, top_p=1.0))
                     for i in range(nsamp)]
            for name, kw in runs:
                torch.manual_seed(1000 + len(lines))
                try:
                    out = m2.generate(ids, max_new_tokens=220, eos_token_id=2, pad_token_id=2, **kw)
                except Exception:
                    traceback.print_exc()
                    kw.pop("top_k", None)
                    out = m2.generate(ids, max_new_tokens=220, eos_token_id=2, pad_token_id=2, **kw)
                text = hf_tok.decode(out[0], skip_special_tokens=True)
                block = "### %s | %s | prompt ids %s\n%s\n" % (prompt, name, ids[0].tolist(), text)
                lines.append(block)
                log(block)
        if args.samples_out:
            with open(args.samples_out, "w") as f:
                f.write(json.dumps(summary, indent=1) + "\n\n" + "\n".join(lines))
    except Exception:
        traceback.print_exc()
        log("summary:", json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
