"""Load and save rmoe checkpoints (safetensors; docs/architecture.md section 4).

An rmoe checkpoint (`model.safetensors`, `best.safetensors`, `model-step<N>.safetensors`) holds F32
tensors under the parameter names and the run's config as JSON in `__metadata__["config"]`.
`load` builds the model that config describes and loads the tensors with `strict=True`: every
tensor of the model must be in the file with its shape, and the file may hold nothing else (the
AdamW moments `exp_avg.*` / `exp_avg_sq.*` of a `train-state.safetensors` are skipped, as rmoe does).
"""
from __future__ import annotations

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .config import Config
from .model import LanguageModel

OPTIMIZER_PREFIXES = ("exp_avg.", "exp_avg_sq.")


def read_checkpoint(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors by name, metadata) of a safetensors file; optimizer moments left out."""
    with safe_open(path, framework="pt") as f:
        metadata = dict(f.metadata() or {})
    state = {k: v for k, v in load_file(path).items() if not k.startswith(OPTIMIZER_PREFIXES)}
    return state, metadata


def load(path: str, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
         config: Config | None = None, strict: bool = True) -> tuple[LanguageModel, Config]:
    """Builds the model of the checkpoint at `path` and loads its weights.

    The config comes from the checkpoint's metadata; for a file without one (written by another
    program) pass `config`, or build it with `Config.infer(state, heads=..., top_k=..., router=...)`.
    Returns (model in eval mode, in `dtype` on `device`, config)."""
    state, metadata = read_checkpoint(path)
    if config is None:
        if "config" not in metadata:
            raise ValueError(f"{path} has no config in its metadata (not written by rmoe); pass config= "
                             "(Config.infer(state, heads=..., top_k=..., router=...) reads the sizes off the shapes)")
        config = Config.from_json(metadata["config"])
    model = LanguageModel(config)
    model.load_state_dict(state, strict=strict)
    return model.to(device=device, dtype=dtype).eval(), config


def save(model: LanguageModel, path: str, metadata: dict[str, str] | None = None) -> None:
    """Writes the model as an rmoe checkpoint (F32 tensors, the config in the metadata), which
    `rmoe eval --checkpoint PATH` and `rmoe grads` read."""
    md = {"format": "rmoe-1", "config": model.config.to_json(), **(metadata or {})}
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    save_file(state, path, metadata=md)
