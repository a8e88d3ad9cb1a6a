"""PyTorch twin of rmoe's language model (docs/architecture.md sections 2-3, docs/routers.md).

Same math and the same parameter names as the Swift toolkit, so `model.state_dict()` keys equal the
tensor names of an rmoe checkpoint and `load_state_dict(..., strict=True)` takes one unchanged:

    x_0 = tok_emb[tokens]                                          [B, S, d]
    per layer i:  h = x + Attn_i(RMSNorm_attn_i(x))                causal, RoPE (rotate-half)
                  x = h + FFN_i(RMSNorm_moe_i(h))                  MoE layer, or a dense SwiGLU FFN
    logits = lm_head(RMSNorm_final(x_L))                           [B, S, V] (untied head)
    loss = mean CE over counted targets (target -1: not counted)
           + balance_coef * sum over layers of E sum_e f_e P_e

MoE layer (docs/routers.md section 1), on the T = B S rows x [T, d]:

    z = router(x) [T, E];  S_t = top-k of z_t;  w_t = softmax(z_t[S_t])  (dropless)
    y_t = sum_j w_tj F_{S_tj}(x_t),  F_e = SwiGLU  w2_e (silu(w1_e x) * w3_e x)
                                    or ReLU    w2_e relu(w1_e x + b1_e) + b2_e
    f_e = n_e / (T k),  P_e = sum_t softmax(balance logits)_te / (T k)

Training-only randomness (residual dropout, smoe-mlp's router dropout) follows `model.train()`
but draws PyTorch's own masks, not rmoe's; everything else is deterministic and matches rmoe.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config
from .routers import Router, RoutingState, router_class


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * weight, over the last dimension; weight [d]."""

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
    """Causal multi-head self-attention with rotary embeddings (rotate-half, Llama style).

    wq, wk, wv, wo [d, d], no biases; heads of width hd = d / H; position = index in the sequence;
    angles theta^(-2i/hd) * pos computed in float64 (as rmoe), then cast; scale 1 / sqrt(hd)."""

    def __init__(self, c: Config):
        super().__init__()
        d = c.d_model
        self.heads, self.hd, self.theta = c.heads, c.head_dim, c.rope_theta
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d, bias=False) for _ in range(4))
        self._rope = {}

    def rope(self, S, dtype, device):
        key = (S, dtype, device)
        if key not in self._rope:
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
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.wo(o.transpose(1, 2).reshape(B, S, d))


class Experts(nn.Module):
    """E experts stacked. SwiGLU: w1 [E, f, d], w3 [E, f, d], w2 [E, d, f]. ReLU (the enwik8 code's):
    w1 [E, f, d], b1 [E, f], w2 [E, d, f], b2 [E, d]."""

    def __init__(self, E: int, d: int, f: int, kind: str = "swiglu"):
        super().__init__()
        self.relu = kind == "relu"
        self.w1 = nn.Parameter(torch.empty(E, f, d))
        if not self.relu:
            self.w3 = nn.Parameter(torch.empty(E, f, d))
        self.w2 = nn.Parameter(torch.empty(E, d, f))
        if self.relu:
            self.b1 = nn.Parameter(torch.zeros(E, f))
            self.b2 = nn.Parameter(torch.zeros(E, d))

    def forward(self, x, idx, gate):
        """x [T, d], idx / gate [T, k] -> (y [T, d] = sum_j gate_tj F_{idx_tj}(x_t), counts [E]).
        Dropless dispatch: sort the (token, slot) pairs by expert, one contiguous block per expert,
        the expert's products on it, scale by the gate, add the rows back with index_add_."""
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
            if self.relu:
                h = F.relu(F.linear(xe, self.w1[e], self.b1[e]))
                outs.append(F.linear(h * ge, self.w2[e]) + ge * self.b2[e])
            else:
                h = F.silu(F.linear(xe, self.w1[e])) * F.linear(xe, self.w3[e])
                outs.append(F.linear(h * ge, self.w2[e]))       # gate on the narrower [n, f] side
        y = torch.zeros_like(x)
        return y.index_add_(0, tok, torch.cat(outs)), counts


class MoE(nn.Module):
    """Router + experts (module doc). `forward(x [T, d], state) -> (y [T, d], balance)`, balance =
    E sum_e f_e P_e of this layer (unweighted). Keeps the last router logits in `last_logits`
    (detached) for analyses."""

    def __init__(self, c: Config, layer: int):
        super().__init__()
        self.E, self.k = c.experts, c.top_k
        self.router: Router = router_class(c.router)(c, layer)
        self.experts = Experts(c.experts, c.d_model, c.expert_width, c.expert)
        self.last_logits = None

    def forward(self, x, state: RoutingState):
        z, zb = self.router(x, state)
        self.last_logits = z.detach()
        topv, idx = torch.topk(z, self.k, dim=-1)
        gate = torch.softmax(topv, dim=-1)                     # softmax over the k selected logits
        y, counts = self.experts(x, idx, gate)
        Tk = x.shape[0] * self.k
        f = counts.to(x.dtype) / Tk                            # no gradient
        P = torch.softmax(zb, dim=-1).sum(0) / Tk
        return y, self.E * (f * P).sum()


class SwiGLU(nn.Module):
    """Dense FFN: w2(silu(w1 x) * w3 x); w1, w3 [F, d], w2 [d, F], no biases."""

    def __init__(self, d: int, F_: int):
        super().__init__()
        self.w1, self.w3 = nn.Linear(d, F_, bias=False), nn.Linear(d, F_, bias=False)
        self.w2 = nn.Linear(F_, d, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """h = x + Drop(Attn(RMSNorm(x))); x' = h + Drop(FFN(RMSNorm(h))); FFN = `moe` or `ffn` (dense)."""

    def __init__(self, c: Config, layer: int):
        super().__init__()
        self.attn_norm = RMSNorm(c.d_model, c.norm_eps)
        self.attn = Attention(c)
        self.moe_norm = RMSNorm(c.d_model, c.norm_eps)
        if c.is_dense:
            self.ffn = SwiGLU(c.d_model, c.dense_width)
        else:
            self.moe = MoE(c, layer)
        self.drop = nn.Dropout(c.dropout) if c.dropout > 0 else nn.Identity()

    def forward(self, x, state: RoutingState):
        """x [B, S, d] -> (x', this layer's balance loss or None)."""
        B, S, d = x.shape
        x = x + self.drop(self.attn(self.attn_norm(x)))
        u = self.moe_norm(x)
        if hasattr(self, "ffn"):
            return x + self.drop(self.ffn(u)), None
        y, bal = self.moe(u.reshape(B * S, d), state)
        return x + self.drop(y.view(B, S, d)), bal


class LMOutput(NamedTuple):
    loss: torch.Tensor        # ce + balance
    ce: torch.Tensor          # mean cross-entropy over counted targets
    balance: torch.Tensor     # balance_coef * sum over layers of the balance loss


class LanguageModel(nn.Module):
    """The whole model of a `Config` (module doc). Parameter names are rmoe's tensor names."""

    def __init__(self, c: Config):
        super().__init__()
        self.config = c
        self.tok_emb = nn.Embedding(c.vocab, c.d_model)
        self.layers = nn.ModuleList(Block(c, i) for i in range(c.layers))
        shared = None if c.is_dense else router_class(c.router).shared_module(c)
        if shared is not None:
            self.router_rnn = shared                           # shared by every layer's router
        self.norm = RMSNorm(c.d_model, c.norm_eps)
        self.lm_head = nn.Linear(c.d_model, c.vocab, bias=False)
        self.last_balance = None

    def logits(self, tokens):
        """tokens [B, S] (int64) -> logits [B, S, V]; sets `last_balance` (summed over layers, unweighted)."""
        x = self.tok_emb(tokens)
        state = RoutingState(tokens=tokens.reshape(-1), rnn=getattr(self, "router_rnn", None))
        bal = x.new_zeros(())
        for layer in self.layers:
            x, b = layer(x, state)
            if b is not None:
                bal = bal + b
        self.last_balance = bal
        return self.lm_head(self.norm(x))

    def forward(self, tokens, targets) -> LMOutput:
        """tokens, targets [B, S] (int64; target -1 = not counted) -> LMOutput(loss, ce, balance)."""
        logits = self.logits(tokens)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        balance = self.config.balance_coef * self.last_balance
        return LMOutput(ce + balance, ce, balance)


@torch.no_grad()
def init_weights(model: LanguageModel, std: float | None = None, seed: int | None = None) -> LanguageModel:
    """normal(0, std) (default the config's init_std) for every non-router matrix, ones for norms,
    zeros for ReLU expert biases; router tensors keep the inits their classes give them (PyTorch's
    defaults, rmoe's `router_init = torch`). Not rmoe's random streams: the same distributions."""
    if seed is not None:
        torch.manual_seed(seed)
    std = model.config.init_std if std is None else std
    for name, p in model.named_parameters():
        if ".router." in name or name.startswith("router_rnn."):
            continue
        if name.endswith("norm.weight"):
            p.fill_(1.0)
        elif name.endswith((".b1", ".b2")):
            p.zero_()
        else:
            p.normal_(0.0, std)
    return model
