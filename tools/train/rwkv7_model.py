#!/usr/bin/env python3
"""Our own PyTorch RWKV-7 ("Goose", x070) language model, written from the
equations, for training the demo model and making the parity fixture.

transformers has no RWKV-7 class, so this file is the model definition. Its
parameter names and shapes are those of flash-linear-attention's
`RWKV7ForCausalLM` checkpoints, so `save_pretrained` writes a folder that
llama.cpp's converter (conversion/rwkv.py) and ours (`metal-attention
convert`) both read:

  model.embeddings.weight [V, C]         model.layers.0.pre_norm.{weight,bias}
  model.layers.N.attn_norm.{weight,bias} model.layers.N.ffn_norm.{weight,bias}
  model.layers.N.attn.x_{r,w,k,v,a,g} [1, 1, C]   token-shift lerps
  model.layers.N.attn.{k_k,k_a} [C]      model.layers.N.attn.r_k [H, N]
  model.layers.N.attn.{r,k,v,o}_proj.weight [C, C]
  model.layers.N.attn.{w,a,v}_lora.lora.{0.weight [R, C], 2.weight [C, R], 2.bias [C]}
  model.layers.N.attn.g_lora.lora.{0,2}.weight (no bias; no v_lora on layer 0)
  model.layers.N.attn.g_norm.{weight,bias} [C]    group norm, one group per head
  model.layers.N.ffn.x_k [C]   model.layers.N.ffn.{key [I, C], value [C, I]}.weight
  model.norm.{weight,bias}     lm_head.weight [V, C]

One layer, x the residual stream (layer 0 first applies pre_norm):
  time mix on h = LN(x): with d_t = h_{t-1} - h_t (h_{-1} from the state),
    h_m = h + d * x_m for m in r, w, k, v, a, g
    r = W_r h_r,  k = W_k h_k,  v = W_v h_v
    log w = -exp(-1/2) sigmoid(w0 + W_w2 tanh(W_w1 h_w))  (per-channel decay)
    a = sigmoid(a0 + W_a2 W_a1 h_a)                       (in-context learning rate)
    layer 0 keeps v as v_first; later layers v += (v_first - v) sigmoid(v0 + W_v2 W_v1 h_v)
    g = W_g2 sigmoid(W_g1 h_g)
    kk = normalize(k * k_k) per head;  k = k * (1 + (a - 1) * k_a)
    per head, state S (key x value):
      S_t = diag(w_t) S_{t-1} + b_t (a'_t^T S_{t-1}) + k_t v_t^T,  y_t = S_t^T r_t
      with a' = -kk (removal key) and b = kk * a (replacement key)
    y = (GroupNorm(y) + sum_head(r * k * r_k) v) * g;  x += W_o y
  channel mix on h = LN(x): x += W_value relu(W_key (h + d * x_k))^2
and logits = lm_head LN(x).

Two forms of the wkv recurrence: `wkv_sequential`, token after token (the
reference, run in float64), and `wkv_chunked`, the training path: chunks of
CHUNK tokens whose inner interactions are a few small matrix products and one
unit-triangular solve, with only the chunk-to-chunk state passed on in a
loop. `self_check()` asserts that the two give the same logits (and
gradients) on random weights; `python3 rwkv7_model.py --self-check` runs it.

Only torch (and numpy, for the safetensors files) is needed.
"""

import argparse
import copy
import json
import math
import os
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

DECAY_SCALE = math.exp(-0.5)  # log w = -DECAY_SCALE * sigmoid(...), so w >= 0.545
GROUP_NORM_EPS = 64e-5  # llama.cpp's rwkv7 graph and our engine use this for every head size
CHUNK = 16


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------

class Rwkv7Config:
    """The fields of flash-linear-attention's RWKV7Config that matter here."""

    def __init__(self, vocab_size, hidden_size, num_hidden_layers, head_dim=64,
                 intermediate_size=None, decay_low_rank_dim=32, a_low_rank_dim=32,
                 v_low_rank_dim=32, gate_low_rank_dim=64, norm_eps=1e-5,
                 bos_token_id=1, eos_token_id=2, pad_token_id=0, max_position_embeddings=2048,
                 **_ignored):
        if hidden_size % head_dim != 0:
            raise ValueError("hidden_size %d is no multiple of head_dim %d" % (hidden_size, head_dim))
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.head_dim = head_dim
        self.intermediate_size = intermediate_size or 4 * hidden_size
        self.decay_low_rank_dim = decay_low_rank_dim
        self.a_low_rank_dim = a_low_rank_dim
        self.v_low_rank_dim = v_low_rank_dim
        self.gate_low_rank_dim = gate_low_rank_dim
        self.norm_eps = norm_eps
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id
        self.max_position_embeddings = max_position_embeddings

    @property
    def num_heads(self):
        return self.hidden_size // self.head_dim

    def to_dict(self):
        """config.json in flash-linear-attention's layout."""
        return {
            "architectures": ["RWKV7ForCausalLM"],
            "model_type": "rwkv7",
            "attn_mode": "chunk",
            "attn": None,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "hidden_ratio": self.intermediate_size / self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "head_dim": self.head_dim,
            "num_heads": None,
            "value_dim": [self.hidden_size] * self.num_hidden_layers,
            "decay_low_rank_dim": self.decay_low_rank_dim,
            "a_low_rank_dim": self.a_low_rank_dim,
            "v_low_rank_dim": self.v_low_rank_dim,
            "gate_low_rank_dim": self.gate_low_rank_dim,
            "hidden_act": "sqrelu",
            "norm_first": True,
            "norm_bias": True,
            "norm_eps": self.norm_eps,
            "fuse_norm": False,
            "fuse_cross_entropy": False,
            "use_cache": True,
            "tie_word_embeddings": False,
            "initializer_range": 0.02,
            "max_position_embeddings": self.max_position_embeddings,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "pad_token_id": self.pad_token_id,
        }

    def to_json_string(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        import inspect
        known = inspect.signature(cls.__init__).parameters
        return cls(**{k: v for k, v in d.items() if k in known and k != "_ignored"})


# --------------------------------------------------------------------------
# the wkv recurrence (generalized delta rule), per head
# --------------------------------------------------------------------------
# Inputs are [B, T, H, N]; log_w = log of the decay (<= 0); the state is
# [B, H, N_key, N_value]. Returns (y [B, T, H, N], final state).

def wkv_sequential(r, log_w, k, v, a, b, state):
    """S_t = diag(w_t) S + b_t (a_t^T S) + k_t v_t^T, y_t = S_t^T r_t, token by token."""
    S = state
    w = torch.exp(log_w)
    ys = []
    for t in range(r.shape[1]):
        sa = torch.einsum("bhk,bhkv->bhv", a[:, t], S)
        S = (S * w[:, t, :, :, None] + b[:, t, :, :, None] * sa[:, :, None, :]
             + k[:, t, :, :, None] * v[:, t, :, None, :])
        ys.append(torch.einsum("bhk,bhkv->bhv", r[:, t], S))
    return torch.stack(ys, dim=1), S


def _no_tf32():
    """A context that keeps float32 matrix products exact on the GPU (the
    chunked form divides by cumulative decays of up to ~1.6e4)."""
    class Ctx:
        def __enter__(self):
            self.prev = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = False

        def __exit__(self, *exc):
            torch.backends.cuda.matmul.allow_tf32 = self.prev
    return Ctx()


def wkv_chunked(r, log_w, k, v, a, b, state, chunk=CHUNK):
    """The same recurrence, CHUNK tokens at a time.

    Inside a chunk, with g_t = prod_{i<=t} w_i (per key channel) and the
    state S0 at the chunk's start, S_t = diag(g_t) (S0 + sum_{s<=t}
    diag(g_s)^-1 (b_s u_s + k_s v_s^T)) where u_t = a_t^T S_{t-1}. So, with
    a~ = a g_{t-1}, r~ = r g_t, b^ = b / g_s, k^ = k / g_s:
      U = (I - tril_strict(a~ b^T))^-1 (a~ S0 + tril_strict(a~ k^T) V)
      Y = r~ S0 + tril(r~ b^T) U + tril(r~ k^T) V
      S_end = diag(g_L) S0 + (b g_L / g)^T U + (k g_L / g)^T V
    Everything but S0 is computed for all chunks at once; the loop over
    chunks carries S0 alone.
    """
    B, T, H, N = r.shape
    pad = (-T) % chunk
    if pad:
        def z(x):
            return F.pad(x, (0, 0, 0, 0, 0, pad))
        r, log_w, k, v, a, b = (z(x) for x in (r, log_w, k, v, a, b))  # w = 1, no input
    n = (T + pad) // chunk

    def split(x):  # [B, T, H, N] -> [B, H, n, L, N]
        return x.reshape(B, n, chunk, H, N).permute(0, 3, 1, 2, 4)

    r, log_w, k, v, a, b = (split(x) for x in (r, log_w, k, v, a, b))
    with _no_tf32():
        lg = torch.cumsum(log_w, dim=3)  # log g_t, inclusive
        lg_prev = lg - log_w  # log g_{t-1}
        lg_end = lg[:, :, :, -1:, :]  # log g_L
        r_t = r * torch.exp(lg)
        a_t = a * torch.exp(lg_prev)
        k_hat = k * torch.exp(-lg)
        b_hat = b * torch.exp(-lg)
        k_end = k * torch.exp(lg_end - lg)
        b_end = b * torch.exp(lg_end - lg)
        ones = torch.ones(chunk, chunk, dtype=r.dtype, device=r.device)
        strict = torch.tril(ones, -1)
        incl = torch.tril(ones)
        m_ab = (a_t @ b_hat.transpose(-1, -2)) * strict
        m_ak = (a_t @ k_hat.transpose(-1, -2)) * strict
        m_rb = (r_t @ b_hat.transpose(-1, -2)) * incl
        m_rk = (r_t @ k_hat.transpose(-1, -2)) * incl
        system = torch.eye(chunk, dtype=r.dtype, device=r.device) - m_ab
        u_from_s0 = torch.linalg.solve_triangular(system, a_t, upper=False, unitriangular=True)
        u_from_v = torch.linalg.solve_triangular(system, m_ak @ v, upper=False, unitriangular=True)
        y_local = m_rk @ v
        decay_end = torch.exp(lg_end).squeeze(3)[..., None]  # [B, H, n, N, 1]
        S = state
        ys = []
        for c in range(n):
            U = u_from_s0[:, :, c] @ S + u_from_v[:, :, c]
            ys.append(r_t[:, :, c] @ S + m_rb[:, :, c] @ U + y_local[:, :, c])
            S = (S * decay_end[:, :, c] + b_end[:, :, c].transpose(-1, -2) @ U
                 + k_end[:, :, c].transpose(-1, -2) @ v[:, :, c])
        y = torch.stack(ys, dim=2)  # [B, H, n, L, N]
    y = y.permute(0, 2, 3, 1, 4).reshape(B, n * chunk, H, N)
    return y[:, :T], S


# --------------------------------------------------------------------------
# modules (names as in flash-linear-attention's checkpoints)
# --------------------------------------------------------------------------

class LoRA(nn.Module):
    """y = W2 f(W1 x) (+ bias): lora.0 is W1, lora.2 is W2."""

    def __init__(self, dim, rank, activation, bias=True):
        super().__init__()
        act = {"tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), None: nn.Identity()}[activation]
        self.lora = nn.Sequential(nn.Linear(dim, rank, bias=False), act,
                                  nn.Linear(rank, dim, bias=bias))

    def forward(self, x):
        return self.lora(x)


def token_shift(x, prev):
    """d_t = x_{t-1} - x_t, with x_{-1} = prev ([B, C]) or zeros."""
    before = torch.zeros_like(x[:, :1]) if prev is None else prev[:, None].to(x.dtype)
    return torch.cat([before, x[:, :-1]], dim=1) - x


class TimeMix(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        C, H, N = cfg.hidden_size, cfg.num_heads, cfg.head_dim
        self.layer, self.H, self.N = layer, H, N
        for m in "rwkvag":
            setattr(self, "x_" + m, nn.Parameter(torch.zeros(1, 1, C)))
        self.k_k = nn.Parameter(torch.zeros(C))
        self.k_a = nn.Parameter(torch.zeros(C))
        self.r_k = nn.Parameter(torch.zeros(H, N))
        self.r_proj = nn.Linear(C, C, bias=False)
        self.k_proj = nn.Linear(C, C, bias=False)
        self.v_proj = nn.Linear(C, C, bias=False)
        self.o_proj = nn.Linear(C, C, bias=False)
        self.w_lora = LoRA(C, cfg.decay_low_rank_dim, "tanh")
        if layer != 0:
            self.v_lora = LoRA(C, cfg.v_low_rank_dim, None)
        self.a_lora = LoRA(C, cfg.a_low_rank_dim, None)
        self.g_lora = LoRA(C, cfg.gate_low_rank_dim, "sigmoid", bias=False)
        self.g_norm = nn.GroupNorm(H, C, eps=GROUP_NORM_EPS)

    def forward(self, h, v_first, shift, wkv_state, mode):
        B, T, C = h.shape
        H, N = self.H, self.N
        d = token_shift(h, shift)
        hr, hw, hk, hv, ha, hg = (h + d * getattr(self, "x_" + m) for m in "rwkvag")
        f32 = torch.float64 if h.dtype == torch.float64 else torch.float32
        r = self.r_proj(hr).to(f32)
        log_w = -DECAY_SCALE * torch.sigmoid(self.w_lora(hw).to(f32))
        k = self.k_proj(hk).to(f32)
        v = self.v_proj(hv).to(f32)
        if self.layer == 0:
            v_first = v
        else:
            v = v + (v_first - v) * torch.sigmoid(self.v_lora(hv).to(f32))
        a = torch.sigmoid(self.a_lora(ha).to(f32))
        g = self.g_lora(hg).to(f32)
        kk = F.normalize((k * self.k_k).view(B, T, H, N), dim=-1, eps=1e-12)
        k = k * (1 + (a - 1) * self.k_a)

        def heads(x):
            return x.view(B, T, H, N)
        if wkv_state is None:
            wkv_state = torch.zeros(B, H, N, N, dtype=f32, device=h.device)
        run = wkv_chunked if mode == "chunked" else wkv_sequential
        with torch.autocast(device_type=h.device.type, enabled=False):
            y, wkv_state = run(heads(r), heads(log_w), heads(k), heads(v), -kk,
                               kk * heads(a), wkv_state.to(f32))
            y = self.g_norm(y.reshape(B * T, C)).view(B, T, C)
        bonus = (heads(r * k) * self.r_k).sum(-1, keepdim=True) * heads(v)
        y = (y + bonus.reshape(B, T, C)) * g
        return self.o_proj(y.to(h.dtype)), v_first, h[:, -1], wkv_state


class ChannelMix(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.x_k = nn.Parameter(torch.zeros(cfg.hidden_size))
        self.key = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.value = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, h, shift):
        x = h + token_shift(h, shift) * self.x_k
        return self.value(torch.relu(self.key(x)) ** 2), h[:, -1]


class Block(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        C, eps = cfg.hidden_size, cfg.norm_eps
        if layer == 0:
            self.pre_norm = nn.LayerNorm(C, eps=eps)
        self.attn_norm = nn.LayerNorm(C, eps=eps)
        self.attn = TimeMix(cfg, layer)
        self.ffn_norm = nn.LayerNorm(C, eps=eps)
        self.ffn = ChannelMix(cfg)

    def forward(self, x, v_first, state, mode):
        if hasattr(self, "pre_norm"):
            x = self.pre_norm(x)
        att_shift, ffn_shift, wkv = state if state is not None else (None, None, None)
        y, v_first, att_shift, wkv = self.attn(self.attn_norm(x), v_first, att_shift, wkv, mode)
        x = x + y
        y, ffn_shift = self.ffn(self.ffn_norm(x), ffn_shift)
        return x + y, v_first, (att_shift, ffn_shift, wkv)


class Rwkv7Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Block(cfg, i) for i in range(cfg.num_hidden_layers)])
        self.norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.norm_eps)


class RWKV7ForCausalLM(nn.Module):
    """forward(input_ids, state=None, mode=None) -> .logits and .state (one
    (time shift, channel shift, wkv) tuple per layer). mode "chunked" (the
    default for training and prompts) or "sequential" (the reference form,
    and the default for fewer than CHUNK tokens)."""

    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.model = Rwkv7Model(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.init_for_training()

    def forward(self, input_ids, state=None, mode=None, **_ignored):
        if mode is None:
            mode = "chunked" if input_ids.shape[1] >= CHUNK else "sequential"
        x = self.model.embeddings(input_ids)
        v_first = None
        new_state = []
        for i, block in enumerate(self.model.layers):
            x, v_first, s = block(x, v_first, None if state is None else state[i], mode)
            new_state.append(s)
        logits = self.lm_head(self.model.norm(x))
        return types.SimpleNamespace(logits=logits, state=new_state)

    # ---- initialisation ----------------------------------------------------

    @torch.no_grad()
    def init_for_training(self):
        """RWKV-7's usual start: per-channel spreads of the token-shift lerps
        and decays, zero output projections (each block starts as the
        identity), orthogonal input projections, tiny embeddings."""
        cfg = self.config
        C, L, N = cfg.hidden_size, cfg.num_hidden_layers, cfg.head_dim
        i = torch.arange(C, dtype=torch.float64)
        frac = i / C  # 0 .. 1
        centred = i / (C - 1) - 0.5  # -0.5 .. 0.5
        z = ((i % N) - (N - 1) / 2) / ((N - 1) / 2)  # -1 .. 1 inside each head
        z = z * z.abs()

        def put(p, value):
            p.copy_(value.to(p.dtype).reshape(p.shape))

        nn.init.uniform_(self.model.embeddings.weight, -1e-4, 1e-4)
        gain = 0.5 * math.sqrt(cfg.vocab_size / C) if cfg.vocab_size > C else 0.5
        nn.init.orthogonal_(self.lm_head.weight, gain=gain)
        for layer, block in enumerate(self.model.layers):
            depth = layer / max(1, L - 1)  # 0 .. 1
            keep = 1.0 - layer / L  # 1 .. 1/L
            tm = block.attn
            for m, p in zip("rwkvag", (0.2, 0.9, 0.7, 0.7, 0.9, 0.2)):
                put(getattr(tm, "x_" + m), 1.0 - frac ** (p * keep))
            put(tm.w_lora.lora[2].bias,
                -6.0 + 6.0 * (i / (C - 1)) ** (1.0 + depth ** 0.3) + 0.5 + 2.5 * z)
            put(tm.a_lora.lora[2].bias, -0.19 + 0.3 * z + 0.4 * centred)
            if layer != 0:
                put(tm.v_lora.lora[2].bias, 0.73 - 0.4 * centred)
            put(tm.k_k, 0.71 - 0.1 * centred)
            tm.k_a.fill_(1.02)
            tm.r_k.fill_(-0.04)
            for lora in [tm.w_lora, tm.a_lora, tm.g_lora] + ([tm.v_lora] if layer else []):
                lora.lora[0].weight.zero_()
                nn.init.orthogonal_(lora.lora[2].weight, gain=0.1)
            nn.init.orthogonal_(tm.r_proj.weight)
            nn.init.orthogonal_(tm.k_proj.weight, gain=0.1)
            nn.init.orthogonal_(tm.v_proj.weight)
            tm.o_proj.weight.zero_()
            tm.g_norm.weight.fill_(((layer + 1) / L) ** 0.7)
            tm.g_norm.bias.zero_()
            put(block.ffn.x_k, 1.0 - frac ** (keep ** 4))
            nn.init.orthogonal_(block.ffn.key.weight)
            block.ffn.value.weight.zero_()

    @torch.no_grad()
    def randomize_for_tests(self, seed, head_std=0.4):
        """Seeded random values for every tensor, spread enough that a
        loader which swaps, transposes or drops any of them gives other
        logits; decays stay in RWKV-7's range by construction."""
        g = torch.Generator().manual_seed(seed)
        C = self.config.hidden_size

        def uni(shape, lo, hi):
            return lo + (hi - lo) * torch.rand(shape, generator=g, dtype=torch.float64)

        def normal(shape, std):
            return torch.randn(shape, generator=g, dtype=torch.float64) * std

        for name, p in sorted(self.named_parameters()):
            s = p.shape
            if name == "lm_head.weight":
                v = normal(s, head_std)
            elif name == "model.embeddings.weight":
                v = normal(s, 1.0)
            elif "norm" in name:
                v = uni(s, 0.5, 1.5) if name.endswith("weight") else normal(s, 0.1)
            elif name.rsplit(".", 1)[-1].startswith("x_"):  # token-shift lerps
                v = uni(s, 0.0, 1.0)
            elif name.endswith("k_k"):
                v = uni(s, 0.5, 1.5)
            elif name.endswith("k_a"):
                v = uni(s, 0.2, 1.2)
            elif name.endswith("r_k"):
                v = normal(s, 0.5)
            elif name.endswith("w_lora.lora.2.bias"):
                v = uni(s, -3.0, 2.0)
            elif name.endswith("lora.2.bias"):
                v = uni(s, -1.5, 1.5)
            elif "lora.0" in name:
                v = normal(s, 1.0 / math.sqrt(C))
            elif "lora.2" in name:
                v = normal(s, 1.0 / math.sqrt(s[1]))
            elif name.endswith("ffn.value.weight"):
                v = normal(s, 0.5 / math.sqrt(s[1]))
            else:  # r/k/v/o projections, ffn key
                v = normal(s, 1.0 / math.sqrt(s[1]))
            p.copy_(v.to(p.dtype))

    # ---- files -------------------------------------------------------------

    def save_pretrained(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(dict(self.config.to_dict(), torch_dtype=str(self.lm_head.weight.dtype)[6:]),
                      f, indent=2, sort_keys=True)
        with open(os.path.join(folder, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": self.config.bos_token_id,
                       "eos_token_id": self.config.eos_token_id,
                       "pad_token_id": self.config.pad_token_id}, f, indent=2, sort_keys=True)
        write_safetensors(os.path.join(folder, "model.safetensors"), self.state_dict())

    @classmethod
    def from_pretrained(cls, folder, dtype=torch.float32, **_ignored):
        with open(os.path.join(folder, "config.json")) as f:
            cfg = Rwkv7Config.from_dict(json.load(f))
        model = cls(cfg)
        model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
        return model.to(dtype).eval()

    # ---- generation --------------------------------------------------------

    @torch.no_grad()
    def generate(self, input_ids, max_new_tokens=100, eos_token_id=None, do_sample=False,
                 temperature=1.0, **_ignored):
        """Greedy or plain temperature sampling (no top-k / top-p), one
        sequence, through the recurrent state."""
        out = self(input_ids)
        ids = input_ids
        for _ in range(max_new_tokens):
            last = out.logits[:, -1].double()
            if do_sample:
                nxt = torch.multinomial(torch.softmax(last / temperature, -1).float(), 1)
            else:
                nxt = last.argmax(-1, keepdim=True)
            ids = torch.cat([ids, nxt.to(ids.dtype)], dim=1)
            if eos_token_id is not None and nxt.item() == eos_token_id:
                break
            out = self(nxt.to(ids.dtype), state=out.state)
        return ids


# --------------------------------------------------------------------------
# safetensors without the safetensors package
# --------------------------------------------------------------------------

_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
              torch.float64: "F64"}


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else \
            t.numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((-len(head)) % 8)
    with open(path, "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    np_types = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "BF16": np.int16}
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        lo, hi = h["data_offsets"]
        arr = np.frombuffer(data[lo:hi], dtype=np_types[h["dtype"]]).reshape(h["shape"])
        t = torch.from_numpy(arr.copy())
        out[name] = t.view(torch.bfloat16) if h["dtype"] == "BF16" else t
    return out


# --------------------------------------------------------------------------
# the check of the training path against the float64 sequential recurrence
# --------------------------------------------------------------------------

def tiny_config(vocab=97):
    return Rwkv7Config(vocab_size=vocab, hidden_size=64, num_hidden_layers=2, head_dim=32,
                       intermediate_size=96, decay_low_rank_dim=8, a_low_rank_dim=12,
                       v_low_rank_dim=4, gate_low_rank_dim=16)


def self_check(device="cpu", log=print):
    """Asserts, on random weights, that the chunked training path gives the
    float64 token-by-token recurrence's logits: in float64 (to 1e-9, so
    the algebra is exact), in float32 on `device` (to 2e-3 of the logits'
    scale), and with the state carried between calls; and that the two
    forms' float64 gradients agree. Returns the measured differences."""
    torch.manual_seed(1234)
    model = RWKV7ForCausalLM(tiny_config()).double()
    model.randomize_for_tests(seed=99)
    ids = torch.randint(0, 97, (2, 45), generator=torch.Generator().manual_seed(5))
    ref = model(ids, mode="sequential").logits
    scale = ref.abs().max().item()
    got = model(ids, mode="chunked").logits
    d64 = (got - ref).abs().max().item()
    # Prompt in chunked form (20 tokens: one whole chunk and a partial one),
    # then the rest one token at a time through the recurrent state.
    out = model(ids[:, :20], mode="chunked")
    steps = [out.logits]
    state = out.state
    for t in range(20, ids.shape[1]):
        out = model(ids[:, t:t + 1], state=state, mode="sequential")
        state = out.state
        steps.append(out.logits)
    d_carry = (torch.cat(steps, 1) - ref).abs().max().item()
    # Gradients of one scalar through both forms.
    proj = torch.randn(ref.shape, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    grads = []
    for mode in ("sequential", "chunked"):
        model.zero_grad()
        (model(ids, mode=mode).logits * proj).sum().backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    d_grad = ((grads[0] - grads[1]).abs().max() / grads[0].abs().max()).item()
    m32 = copy.deepcopy(model).float().to(device)
    d32 = (m32(ids.to(device), mode="chunked").logits.double().cpu() - ref).abs().max().item()
    log("rwkv7 self-check: logit scale %.2f; chunked vs sequential float64 %.2e, with state "
        "carried %.2e, gradients (relative) %.2e; chunked float32 on %s %.2e" % (
            scale, d64, d_carry, d_grad, device, d32))
    assert d64 <= 1e-9 * scale, "chunked wkv disagrees with the sequential recurrence"
    assert d_carry <= 1e-9 * scale, "carried state disagrees with one pass"
    assert d_grad <= 1e-8, "chunked gradients disagree with the sequential ones"
    assert d32 <= 2e-3 * scale, "float32 chunked path drifts from the float64 reference"
    return {"scale": scale, "float64": d64, "carried": d_carry, "grad": d_grad, "float32": d32}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-check", action="store_true", help="run self_check() and exit")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if args.self_check:
        self_check(args.device)
        return 0
    ap.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())
