"""PyTorch twin of rmoe's `llama` backbone with an MoE layer in every block.

Same math and the same weight names as the Swift toolkit (docs/architecture.md sections 2-3,
docs/routers.md sections 1, 2.1, 2.7, 2.9), so `model.state_dict()` keys equal rmoe's safetensors
names and a checkpoint written by either side loads into the other unchanged.

    x0 = tok_emb[tokens]
    per layer i:  h = x + Attn_i(RMSNorm_attn_i(x));  x = h + MoE_i(RMSNorm_moe_i(h))
    logits = lm_head(RMSNorm_final(x))
    loss = mean CE over all B*S targets + balance_coef * sum_layers E * sum_e f_e P_e

Routers: `smoe` (linear), `rmoe` (per-layer projector -> one GRUCell shared by all layers, state
passed across depth -> per-layer output map), `rmoe-np` (same weights, every layer starts from
h = 0), and `dense` (a SwiGLU FFN instead of the MoE layer, width top_k * expert_width).

Used by parity.py and compare.py; it has no command line of its own. Example:

    from model import Config, MoEModel, init_weights
    m = MoEModel(Config(router="rmoe")); init_weights(m)
    total, ce, bal = m(tokens[:, :-1], tokens[:, 1:])
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

ROUTERS = ("smoe", "rmoe", "rmoe-np", "dense")


@dataclass
class Config:
    """Field names and defaults as rmoe's config (the SMALL size)."""
    vocab: int = 256
    d_model: int = 256
    layers: int = 8
    heads: int = 4
    experts: int = 16
    top_k: int = 4
    expert_width: int = 128
    router: str = "smoe"
    router_dim: int = 64
    router_bias: bool = True
    balance_coef: float = 0.01
    ffn_width: int = 0            # dense only; 0 = top_k * expert_width (matched active FLOPs)
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6

    def __post_init__(self):
        if self.router not in ROUTERS:
            raise ValueError(f"router {self.router!r} not in {ROUTERS}")
        if self.d_model % self.heads or (self.d_model // self.heads) % 2:
            raise ValueError("d_model / heads must be an even integer")


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        d = c.d_model
        self.heads, self.hd, self.theta = c.heads, d // c.heads, c.rope_theta
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d, bias=False) for _ in range(4))
        self._rope = {}

    def rope(self, S, dtype, device):
        key = (S, dtype, device)
        if key not in self._rope:   # angles in float64 (as rmoe), then cast to the model's dtype
            inv = 1.0 / self.theta ** (torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd)
            ang = torch.outer(torch.arange(S, dtype=torch.float64), inv)
            ang = torch.cat((ang, ang), dim=-1)
            self._rope[key] = (ang.cos().to(dtype=dtype, device=device), ang.sin().to(dtype=dtype, device=device))
        return self._rope[key]

    def forward(self, x):                                        # x [B, S, d]
        B, S, d = x.shape
        q, k, v = (w(x).view(B, S, self.heads, self.hd).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
        cos, sin = self.rope(S, x.dtype, x.device)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)   # scale 1/sqrt(hd), no dropout
        return self.wo(o.transpose(1, 2).reshape(B, S, d))


class Experts(nn.Module):
    """E SwiGLU experts stacked: w1 [E,f,d], w3 [E,f,d], w2 [E,d,f]; F_e(x) = w2_e(silu(w1_e x) * w3_e x)."""

    def __init__(self, E: int, d: int, f: int):
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(E, f, d))
        self.w3 = nn.Parameter(torch.empty(E, f, d))
        self.w2 = nn.Parameter(torch.empty(E, d, f))

    def forward(self, x, idx, gate):
        """Dropless dispatch. x [T,d], idx/gate [T,k]. Sort the (token, slot) pairs by expert, gather
        one contiguous block per expert, three matmuls per expert, scale by the gate, and add the
        rows back into their tokens with index_add_."""
        T, k = idx.shape
        flat = idx.reshape(-1)
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=self.w1.shape[0])
        tok = order // k
        xs = x.index_select(0, tok)
        gs = gate.reshape(-1).index_select(0, order).unsqueeze(1)
        outs = []
        for e, (xe, ge) in enumerate(zip(xs.split(counts.tolist()), gs.split(counts.tolist()))):
            if xe.shape[0] == 0:
                continue
            h = F.silu(F.linear(xe, self.w1[e])) * F.linear(xe, self.w3[e])
            outs.append(F.linear(h * ge, self.w2[e]))       # gate on the narrower [n, f] side
        y = torch.zeros_like(x)
        return y.index_add_(0, tok, torch.cat(outs)), counts


class MoE(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.E, self.k, self.kind = c.experts, c.top_k, c.router
        if c.router == "smoe":
            self.router = nn.Linear(c.d_model, c.experts, bias=c.router_bias)
        else:   # rmoe, rmoe-np: projector and output map per layer, GRU cell owned by the model
            self.router = nn.Module()
            self.router.proj = nn.Linear(c.d_model, c.router_dim, bias=c.router_bias)
            self.router.out = nn.Linear(c.router_dim, c.experts, bias=c.router_bias)
        self.experts = Experts(c.experts, c.d_model, c.expert_width)

    def logits(self, x, h_prev, rnn):
        if self.kind == "smoe":
            return self.router(x), None
        h = rnn(self.router.proj(x), h_prev if self.kind == "rmoe" else None)   # None = zeros (rmoe-np)
        return self.router.out(h), h

    def forward(self, x, h_prev, rnn):                         # x [T, d] (normed)
        z, h = self.logits(x, h_prev, rnn)
        topv, idx = torch.topk(z, self.k, dim=-1)
        gate = torch.softmax(topv, dim=-1)                     # softmax over the k selected logits
        y, counts = self.experts(x, idx, gate)
        Tk = x.shape[0] * self.k
        f = counts.to(x.dtype) / Tk                            # no gradient
        P = torch.softmax(z, dim=-1).sum(0) / Tk
        return y, h, self.E * (f * P).sum()


class SwiGLU(nn.Module):
    def __init__(self, d: int, F_: int):
        super().__init__()
        self.w1, self.w3 = nn.Linear(d, F_, bias=False), nn.Linear(d, F_, bias=False)
        self.w2 = nn.Linear(F_, d, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.attn_norm = RMSNorm(c.d_model, c.norm_eps)
        self.attn = Attention(c)
        self.moe_norm = RMSNorm(c.d_model, c.norm_eps)
        if c.router == "dense":
            self.ffn = SwiGLU(c.d_model, c.ffn_width or c.top_k * c.expert_width)
        else:
            self.moe = MoE(c)

    def forward(self, x, h_prev, rnn):
        B, S, d = x.shape
        x = x + self.attn(self.attn_norm(x))
        u = self.moe_norm(x)
        if hasattr(self, "ffn"):
            return x + self.ffn(u), None, None
        y, h, bal = self.moe(u.reshape(B * S, d), h_prev, rnn)
        return x + y.view(B, S, d), h, bal


class MoEModel(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.config = c
        self.tok_emb = nn.Embedding(c.vocab, c.d_model)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.layers))
        if c.router in ("rmoe", "rmoe-np"):
            self.router_rnn = nn.GRUCell(c.router_dim, c.router_dim, bias=True)   # shared by all layers
        self.norm = RMSNorm(c.d_model, c.norm_eps)
        self.lm_head = nn.Linear(c.d_model, c.vocab, bias=False)

    def forward(self, tokens, targets):
        """tokens, targets [B, S] (int64) -> (total loss, mean cross-entropy, weighted balance term)."""
        x = self.tok_emb(tokens)
        rnn = getattr(self, "router_rnn", None)
        h, bal = None, x.new_zeros(())                          # h_0 = 0 (GRUCell's default)
        for layer in self.layers:
            x, h, b = layer(x, h, rnn)
            if b is not None:
                bal = bal + b
        logits = self.lm_head(self.norm(x))
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        balance = self.config.balance_coef * bal
        return ce + balance, ce, balance


@torch.no_grad()
def init_weights(model: MoEModel, std: float = 0.02, seed: int | None = None):
    """normal(0, std) for every matrix, ones for norms; router Linear/GRUCell keep PyTorch's defaults
    (rmoe's `router_init=torch`)."""
    if seed is not None:
        torch.manual_seed(seed)
    for name, p in model.named_parameters():
        if ".router." in name or name.startswith("router_rnn."):
            continue
        if name.endswith("norm.weight"):
            p.fill_(1.0)
        else:
            p.normal_(0.0, std)
    return model


def config_from_state_dict(sd: dict, **fields) -> Config:
    """Sizes from tensor shapes (as `rmoe grads` does); heads, top_k, router, balance_coef... from `fields`."""
    V, d = sd["tok_emb.weight"].shape
    L = 1 + max(int(n.split(".")[1]) for n in sd if n.startswith("layers."))
    c = dict(vocab=V, d_model=d, layers=L)
    if "layers.0.moe.experts.w1" in sd:
        E, f, _ = sd["layers.0.moe.experts.w1"].shape
        c.update(experts=E, expert_width=f)
    if "router_rnn.weight_hh" in sd:
        c["router_dim"] = sd["router_rnn.weight_hh"].shape[1]
    if "layers.0.ffn.w1.weight" in sd:
        c["ffn_width"] = sd["layers.0.ffn.w1.weight"].shape[0]
    c.update(fields)
    return Config(**c)


def with_router(c: Config, router: str) -> Config:
    return replace(c, router=router)
