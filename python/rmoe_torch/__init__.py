"""rmoe_torch: PyTorch models of rmoe's checkpoints, for every router and expert kind.

    from rmoe_torch import load, read_corpus, evaluate
    model, config = load("runs/x/model.safetensors")            # strict=True, eval mode
    loss, n = evaluate(model, read_corpus(config.run["corpus"], "test"), windows=64)

See python/README.md. Modules: config (Config, ROUTERS), routers (one class per router, REGISTRY),
model (LanguageModel and its layers), load (load / save checkpoints), data (corpora, evaluation).
"""
from .config import EXPERT_KINDS, ROUTER_NAMES, ROUTERS, Config
from .data import eval_windows, evaluate, read_corpus
from .load import load, read_checkpoint, save
from .model import LanguageModel, LMOutput, init_weights
from .routers import REGISTRY, Router, RoutingState, router_class

__all__ = ["Config", "ROUTERS", "ROUTER_NAMES", "EXPERT_KINDS", "LanguageModel", "LMOutput", "init_weights",
           "Router", "RoutingState", "REGISTRY", "router_class", "load", "save", "read_checkpoint",
           "read_corpus", "eval_windows", "evaluate"]
