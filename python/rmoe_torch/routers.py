"""Every router of rmoe (docs/routers.md section 2; Sources/RMoEModel/Routers/*.swift).

A router maps the MoE layer's (normed) input x [T, d] to logits z [T, E]; the MoE layer then takes
the top-k of z, gates with the softmax over the k selected logits, and computes the balance loss
from softmax(balance logits), which are z except for XMoE (section 1.6c). Parameter names are
rmoe's: per-layer tensors under `layers.{i}.moe.router.`, tensors shared by all layers under
`router_rnn.` (held by the model, see `Router.shared_module`).

Routers that pass something from layer to layer (RMoE's state h, RMoE-NP-r's logits) or need the
token ids (hash) read and write a `RoutingState`, made fresh for every forward pass of the model.

    name         class              logits z [T, E]
    smoe         LinearRouter       x W^T + b
    random       RandomRouter       x W^T + b, W and b frozen
    smoe-mlp     MLPRouter          GELU(x W1^T + b1) W2^T + b2
    cosine       CosineRouter       normalize(x) normalize(M)^T / max(tau, 1e-4)
    xmoe         XMoERouter         cosine of r = x W_r^T against M (dimension xmoe_dim)
    hyper        HyperRouter        x W^T + b with [W | b] = hypernet(e), hypernet frozen
    rmoe         RMoERouter         G GRU(P x + c, h_{l-1}) + g, state passed across depth
    rmoe-rnn     RMoERNNRouter      the same with a tanh RNN cell
    rmoe-np      RMoENPRouter       every layer starts from h = 0
    rmoe-detach  RMoEDetachRouter   state passed forward, no gradient back across layers
    rmoe-np-r    RMoENPResidualRouter  RMoE-NP + alpha * previous layer's logits
    hash         HashRouter         0 for the token id's k hashed experts, -30 elsewhere
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config

COSINE_EPS = 1e-4      # normalize(v) = v / max(||v||, eps); tau clamped to >= eps


@dataclass
class RoutingState:
    """What routers hand from layer to layer during one forward pass of the model.

    tokens [T] (int64): the batch's token ids, flattened (hash router).
    rnn: the model's shared recurrent cell (`router_rnn`), or None.
    h [T, p]: the previous layer's recurrent state (None before the first layer = zeros).
    logits [T, E]: the previous layer's logits for RMoE-NP-r (own or accumulated), or None.
    """
    tokens: torch.Tensor | None = None
    rnn: nn.Module | None = None
    h: torch.Tensor | None = None
    logits: torch.Tensor | None = None


class Router(nn.Module):
    """Base class: `forward(x [T, d], state) -> (z [T, E], balance logits [T, E])`."""

    def __init__(self, c: Config, layer: int):
        super().__init__()
        self.layer = layer

    @staticmethod
    def shared_module(c: Config) -> nn.Module | None:
        """The module shared by every layer's router (saved as `router_rnn.*`), or None."""
        return None

    def forward(self, x: torch.Tensor, state: RoutingState) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.logits(x, state)
        return z, z

    def logits(self, x: torch.Tensor, state: RoutingState) -> torch.Tensor:
        raise NotImplementedError


def _linear_params(module: nn.Module, out_dim: int, in_dim: int, bias: bool):
    """`weight` [out, in] and `bias` [out] (or None) on `module`, PyTorch's Linear init
    U(+-1/sqrt(in)) (rmoe's router_init = torch)."""
    bound = 1 / math.sqrt(in_dim)
    module.weight = nn.Parameter(torch.empty(out_dim, in_dim).uniform_(-bound, bound))
    module.register_parameter("bias", nn.Parameter(torch.empty(out_dim).uniform_(-bound, bound)) if bias else None)


# ---------------------------------------------------------------------------------------- linear
class LinearRouter(Router):
    """SMoE (2.1): z = x W^T + b; W [E, d], b [E] (absent with router_bias = false)."""

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        _linear_params(self, c.experts, c.d_model, c.router_bias)

    def logits(self, x, state):
        return F.linear(x, self.weight, self.bias)


class RandomRouter(LinearRouter):
    """RandomSMoE (2.3): SMoE's map drawn once and frozen; the gradient still reaches x."""

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        for p in self.parameters():
            p.requires_grad_(False)


# ------------------------------------------------------------------------------------------- MLP
class MLPRouter(Router):
    """SMoE-MLP (2.2): U = x W1^T + b1 [T, H]; A = Dropout(GELU(U)) (exact erf GELU, dropout
    mlp_dropout in training only); z = A W2^T + b2. `fc1` [H, d], `fc2` [E, H]; biases off with
    router_bias = false, `fc2.bias` also off with mlp_out_bias = false. H = mlp_dim."""

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        self.fc1 = nn.Linear(c.d_model, c.mlp_dim, bias=c.router_bias)
        self.fc2 = nn.Linear(c.mlp_dim, c.experts, bias=c.router_bias and c.mlp_out_bias)
        self.drop = nn.Dropout(c.mlp_dropout)

    def logits(self, x, state):
        return self.fc2(self.drop(F.gelu(self.fc1(x))))


# ---------------------------------------------------------------------------------------- cosine
class CosineRouter(Router):
    """CosineMoE (2.4): expert embeddings M = `expert_emb` [E, k] (k = d), temperature tau =
    `temperature` [1] (paper form only).

        paper form:  s = normalize(r) normalize(M)^T,   z = s / max(tau, 1e-4)
        code form:   s = r normalize(M)^T,              z = s
    with r = x [T, d] and normalize(v) = v / max(||v||, 1e-4) per row. Balance logits: z."""

    def __init__(self, c: Config, layer: int, dim: int | None = None):
        super().__init__(c, layer)
        self.paper = c.cosine_form == "paper"
        k = dim or c.d_model
        emb = torch.empty(c.experts, k)
        nn.init.orthogonal_(emb, gain=0.32)
        self.expert_emb = nn.Parameter(emb * (1.5 / emb.norm(dim=1, keepdim=True).clamp_min(1e-12)))
        if self.paper:
            self.temperature = nn.Parameter(torch.full((1,), float(c.tau_init)))

    def router_input(self, x):
        """r [T, k]: what the cosine compares with the expert embeddings."""
        return x

    def cosine(self, x):
        """s [T, E], the raw cosine scores."""
        r = self.router_input(x)
        m = F.normalize(self.expert_emb, dim=-1, eps=COSINE_EPS)
        if self.paper:
            r = F.normalize(r, dim=-1, eps=COSINE_EPS)
        return r @ m.t()

    def scale(self, s):
        return s / self.temperature.clamp_min(COSINE_EPS) if self.paper else s

    def logits(self, x, state):
        return self.scale(self.cosine(x))


class XMoERouter(CosineRouter):
    """XMoE (2.5): r = x W_r^T (`reduce.weight` [d_e, d], no bias, d_e = xmoe_dim), then the cosine
    of CosineRouter against `expert_emb` [E, d_e]. Balance logits: s / xmoe_balance_tau, the raw
    cosine at its own fixed temperature (their gradient bypasses tau)."""

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer, dim=c.xmoe_dim)
        self.reduce = nn.Linear(c.d_model, c.xmoe_dim, bias=False)
        self.balance_tau = c.xmoe_balance_tau

    def router_input(self, x):
        return self.reduce(x)

    def forward(self, x, state):
        s = self.cosine(x)
        return self.scale(s), s / self.balance_tau


# ----------------------------------------------------------------------------------------- hyper
class HyperRouter(Router):
    """HyperRouter (2.6): a frozen per-layer hypernetwork (`hypernet.fc1` [H, d], `hypernet.fc2`
    [E (d+1), H], with biases; H = hyper_dim) turns the trainable `embedding` e [d] into the router:

        o = fc2(ReLU(fc1(e)));  [W | b] = reshape(o, [E, d+1]);  z = x W^T + b
    (always with the bias b, whatever router_bias says)."""

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        self.d, self.E = c.d_model, c.experts
        self.embedding = nn.Parameter(torch.randn(c.d_model))
        self.hypernet = nn.Module()
        self.hypernet.fc1 = nn.Linear(c.d_model, c.hyper_dim)
        self.hypernet.fc2 = nn.Linear(c.hyper_dim, c.experts * (c.d_model + 1))
        self.hypernet.requires_grad_(False)

    def generated(self):
        """(W [E, d], b [E]) generated from the embedding."""
        o = self.hypernet.fc2(F.relu(self.hypernet.fc1(self.embedding))).view(self.E, self.d + 1)
        return o[:, :self.d], o[:, self.d]

    def logits(self, x, state):
        w, b = self.generated()
        return F.linear(x, w, b)


# ------------------------------------------------------------------------------------- recurrent
class RMoERouter(Router):
    """RMoE (2.7): per layer a projector x' = P x + c (`proj` [p, d]) and an output map
    z = G h + g (`out` [E, p]) (biases off with router_bias = false), around one recurrent cell
    shared by all layers, `router_rnn` (PyTorch GRUCell(p, p) layout: `weight_ih` [3p, p],
    `weight_hh` [3p, p], `bias_ih` [3p], `bias_hh` [3p], gates r, z, n; always with biases):

        h_l = GRUCell(x'_l, h_{l-1}),  h_{-1} = 0,  p = router_dim

    The subclasses are the ablations (2.8, 2.9); their class attributes say what differs:
    `pass_state` (h_{l-1} reaches layer l, else every layer starts from 0), `pass_gradient`
    (the gradient flows back through h_{l-1}), `cell` (GRU or tanh RNN), `residual` (RMoE-NP-r)."""

    cell = "gru"
    pass_state = True
    pass_gradient = True
    residual = False

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        self.proj = nn.Linear(c.d_model, c.router_dim, bias=c.router_bias)
        self.out = nn.Linear(c.router_dim, c.experts, bias=c.router_bias)

    @classmethod
    def shared_module(cls, c: Config) -> nn.Module:
        if cls.cell == "rnn":
            return nn.RNNCell(c.router_dim, c.router_dim, bias=True, nonlinearity="tanh")
        return nn.GRUCell(c.router_dim, c.router_dim, bias=True)

    def logits(self, x, state):
        h_prev = state.h if self.pass_state else None          # None: the cell starts from zeros
        if h_prev is not None and not self.pass_gradient:
            h_prev = h_prev.detach()
        h = state.rnn(self.proj(x), h_prev)
        state.h = h
        return self.out(h)


class RMoERNNRouter(RMoERouter):
    """RMoE-RNN (2.8): the shared cell is a tanh RNNCell, h_l = tanh(W_ih x' + b_ih + W_hh h_{l-1} + b_hh)
    (`router_rnn.weight_ih` [p, p], ...)."""
    cell = "rnn"


class RMoENPRouter(RMoERouter):
    """RMoE-NP (2.9): no state passed; every layer's cell starts from h = 0 (W_hh gets no gradient)."""
    pass_state = False
    pass_gradient = False


class RMoEDetachRouter(RMoERouter):
    """RMoE + detach h_{l-1} (2.9): the forward pass of RMoE; no gradient back across layers."""
    pass_gradient = False


class RMoENPResidualRouter(RMoENPRouter):
    """RMoE-NP-r (2.9): RMoE-NP plus alpha times the previous layer's logits,

        z_l = zhat_l + alpha * prev_{l-1},  zhat_l = G_l h_l + g_l,  no residual at layer 0,
    prev = zhat (np_residual = own) or z (accumulated); np_residual_detach: no gradient through
    the residual into the previous layer's router."""
    residual = True

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        self.alpha, self.accumulated, self.detach = c.alpha, c.np_residual == "accumulated", c.np_residual_detach

    def logits(self, x, state):
        own = super().logits(x, state)
        z = own
        if state.logits is not None:
            prev = state.logits.detach() if self.detach else state.logits
            z = own + self.alpha * prev
        state.logits = z if self.accumulated else own
        return z


# ------------------------------------------------------------------------------------------ hash
M64 = (1 << 64) - 1


class Xoshiro256:
    """rmoe's generator (Sources/RMoECore/Random.swift): xoshiro256** seeded through SplitMix64."""

    def __init__(self, seed: int, stream: int = 0):
        sm = (seed + stream * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & M64
        self.s = []
        for _ in range(4):
            sm = (sm + 0x9E3779B97F4A7C15) & M64
            z = sm
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & M64

    def next(self) -> int:
        s0, s1, s2, s3 = self.s
        result = (self._rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = self._rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def below(self, n: int) -> int:
        """Uniform integer in [0, n) (Lemire's method, as rmoe)."""
        m = self.next() * n
        if (m & M64) < n:
            threshold = ((1 << 64) - n) % n
            while (m & M64) < threshold:
                m = self.next() * n
        return m >> 64


class HashRouter(Router):
    """Hash router (2.11): no parameters. Layer l maps token id v to k distinct experts drawn from
    rmoe's generator (seed 0x4A5348415348, stream l << 32 | v); z[t, e] = 0 for the k experts of
    tokens[t], -30 elsewhere, so top-k picks exactly them with gates 1/k. The table is a
    non-persistent buffer (not in the state dict)."""

    SEED = 0x4A5348415348

    def __init__(self, c: Config, layer: int):
        super().__init__(c, layer)
        self.E = c.experts
        self.register_buffer("table", self.hash_table(c.vocab, layer, c.experts, c.top_k), persistent=False)

    @classmethod
    def hash_table(cls, vocab: int, layer: int, experts: int, k: int) -> torch.Tensor:
        """[V, k] (int64): the k experts of each token id in `layer`, in drawing order."""
        rows = []
        for v in range(vocab):
            rng, picked = Xoshiro256(cls.SEED, (layer << 32) | v), []
            while len(picked) < k:
                e = rng.below(experts)
                if e not in picked:
                    picked.append(e)
            rows.append(picked)
        return torch.tensor(rows, dtype=torch.int64)

    def logits(self, x, state):
        ids = state.tokens.clamp(0, self.table.shape[0] - 1)
        z = x.new_full((x.shape[0], self.E), -30.0)
        return z.scatter(1, self.table[ids], 0.0)


REGISTRY: dict[str, type[Router]] = {
    "smoe": LinearRouter,
    "random": RandomRouter,
    "smoe-mlp": MLPRouter,
    "cosine": CosineRouter,
    "xmoe": XMoERouter,
    "hyper": HyperRouter,
    "rmoe": RMoERouter,
    "rmoe-rnn": RMoERNNRouter,
    "rmoe-np": RMoENPRouter,
    "rmoe-detach": RMoEDetachRouter,
    "rmoe-np-r": RMoENPResidualRouter,
    "hash": HashRouter,
}


def router_class(name: str) -> type[Router]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"router {name!r} is unknown; use one of {', '.join(REGISTRY)}") from None
