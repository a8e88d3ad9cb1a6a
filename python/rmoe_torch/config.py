"""The model config: the same field names and defaults as rmoe's (`rmoe config --fields`).

An rmoe checkpoint carries its whole run config as JSON in the safetensors metadata
(`__metadata__["config"]`): model fields (vocab, d_model, ..., router, router_bias), the router
families' own fields (router_dim, mlp_dim, cosine_form, ...) and the run's fields (corpus, lr,
steps, ...). `Config` keeps the model and router fields as attributes and every other field,
unchanged, in `run`, so `Config.from_json(text).to_json()` writes back a config rmoe accepts.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

# Every router name of rmoe's registry (`rmoe routers`, Sources/RMoEModel/Routers/Router.swift), in
# registry order, plus `dense` (a dense SwiGLU FFN instead of the MoE layer).
ROUTER_NAMES = ("smoe", "random", "smoe-mlp", "cosine", "xmoe", "hyper",
                "rmoe", "rmoe-rnn", "rmoe-np", "rmoe-detach", "rmoe-np-r", "hash")
ROUTERS = ROUTER_NAMES + ("dense",)
EXPERT_KINDS = ("swiglu", "relu")


@dataclass
class Config:
    """Model fields of rmoe's config (defaults = rmoe's defaults, the SMALL size).

    Sizes: vocab V, d_model d, layers L, heads H (d / H even, for RoPE), experts E, top_k k,
    expert_width f, ffn_width (dense only; 0 = k f). `expert`: swiglu (w1, w3, w2) or relu (w1, b1,
    w2, b2). The router fields after `router_bias` belong to the router families and are used
    only by the routers named in their comment.
    """
    vocab: int = 256
    d_model: int = 256
    layers: int = 8
    heads: int = 4
    experts: int = 16
    top_k: int = 4
    expert_width: int = 128
    ffn_width: int = 0
    expert: str = "swiglu"
    router: str = "smoe"
    router_bias: bool = True
    # rmoe, rmoe-rnn, rmoe-np, rmoe-detach, rmoe-np-r
    router_dim: int = 64
    alpha: float = 0.5                      # rmoe-np-r: weight of the previous layer's logits
    np_residual: str = "own"                # rmoe-np-r: own | accumulated
    np_residual_detach: bool = False        # rmoe-np-r: no gradient through the residual
    # smoe-mlp
    mlp_dim: int = 256
    mlp_dropout: float = 0.0                # training only
    mlp_out_bias: bool = True
    # cosine, xmoe
    cosine_form: str = "paper"              # paper | code
    tau_init: float = 0.3
    # xmoe
    xmoe_dim: int = 16
    xmoe_balance_tau: float = 0.3
    # hyper
    hyper_dim: int = 256
    # the rest of the model
    dropout: float = 0.0                    # residual dropout, training only
    router_init: str = "torch"              # init only: torch | normal
    expert_init: str = "normal"             # init only: normal | fastmoe | torch
    balance_coef: float = 0.01
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    init_std: float = 0.02
    seq_len: int = 256
    batch: int = 8
    # Every other field of the checkpoint's config (corpus, steps, lr, ...), kept as read.
    run: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.router not in ROUTERS:
            raise ValueError(f"router {self.router!r} is unknown; use one of {', '.join(ROUTERS)}")
        if self.expert not in EXPERT_KINDS:
            raise ValueError(f"expert {self.expert!r} is unknown; use one of {', '.join(EXPERT_KINDS)}")
        if self.d_model % self.heads or (self.d_model // self.heads) % 2:
            raise ValueError(f"d_model / heads = {self.d_model} / {self.heads} must be an even integer (RoPE)")
        if self.router != "dense" and not 1 <= self.top_k <= self.experts:
            raise ValueError(f"top_k = {self.top_k} must be between 1 and experts = {self.experts}")
        if self.cosine_form not in ("paper", "code"):
            raise ValueError(f"cosine_form {self.cosine_form!r} must be paper or code")
        if self.np_residual not in ("own", "accumulated"):
            raise ValueError(f"np_residual {self.np_residual!r} must be own or accumulated")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def dense_width(self) -> int:
        """Hidden width F of the dense FFN: ffn_width, or k f (matched active FLOPs) when 0."""
        return self.ffn_width or self.top_k * self.expert_width

    @property
    def is_dense(self) -> bool:
        return self.router == "dense"

    # ------------------------------------------------------------------ JSON (checkpoint metadata)
    @classmethod
    def model_field_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "run"]

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """Model fields from `d`; every other key goes to `run` unchanged."""
        names = set(cls.model_field_names())
        return cls(**{k: v for k, v in d.items() if k in names},
                   run={k: v for k, v in d.items() if k not in names})

    @classmethod
    def from_json(cls, text: str) -> "Config":
        """From the `config` metadata entry of an rmoe checkpoint (or a run's config.json)."""
        d = json.loads(text)
        d.pop("provenance", None)
        return cls.from_dict(d)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("run")
        return {**d, **self.run}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def replace(self, **changes) -> "Config":
        return replace(self, **changes)

    # ------------------------------------------------------------------ foreign checkpoints
    @classmethod
    def infer(cls, state: dict, **given) -> "Config":
        """Sizes from a state dict's tensor shapes (as rmoe's `CheckpointConfig.infer`): vocab and
        d_model from tok_emb, layers from the `layers.{i}.` prefixes, experts / expert_width or
        ffn_width, the expert kind, and the router family's own widths (router_dim, mlp_dim,
        xmoe_dim, hyper_dim, cosine_form, mlp_out_bias). What shapes do not tell (heads, top_k,
        router, router_bias, balance_coef, ...) comes from `given`."""
        V, d = state["tok_emb.weight"].shape
        L = 1 + max(int(n.split(".")[1]) for n in state if n.startswith("layers."))
        c = dict(vocab=V, d_model=d, layers=L)
        r = "layers.0.moe.router."
        shape = {n[len(r):]: tuple(t.shape) for n, t in state.items() if n.startswith(r)}
        if "layers.0.ffn.w1.weight" in state:
            c["ffn_width"] = state["layers.0.ffn.w1.weight"].shape[0]
        if "layers.0.moe.experts.w1" in state:
            E, f, _ = state["layers.0.moe.experts.w1"].shape
            c.update(experts=E, expert_width=f,
                     expert="swiglu" if "layers.0.moe.experts.w3" in state else "relu")
        if "router_rnn.weight_hh" in state:
            c["router_dim"] = state["router_rnn.weight_hh"].shape[1]
        if "proj.weight" in shape:
            c["router_dim"] = shape["proj.weight"][0]
        if "fc1.weight" in shape:
            c["mlp_dim"] = shape["fc1.weight"][0]
            if "fc1.bias" in shape:
                c["mlp_out_bias"] = "fc2.bias" in shape
        if "reduce.weight" in shape:
            c["xmoe_dim"] = shape["reduce.weight"][0]
        if "expert_emb" in shape:
            c["cosine_form"] = "paper" if "temperature" in shape else "code"
        if "hypernet.fc1.weight" in shape:
            c["hyper_dim"] = shape["hypernet.fc1.weight"][0]
        c.update(given)
        return cls(**c)
