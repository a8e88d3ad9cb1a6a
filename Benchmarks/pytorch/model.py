"""PyTorch twin of rmoe's model for parity.py and compare.py: the repository's `rmoe_torch` package.

The model itself lives in python/rmoe_torch (every router, both expert kinds, checkpoint loading;
see python/README.md); this module puts that package on the path and keeps the names parity.py and
compare.py use:

    Config, ROUTERS                  rmoe_torch.Config (rmoe's field names and defaults), router names
    MoEModel                         rmoe_torch.LanguageModel: forward(tokens, targets) -> (loss, ce, balance)
    init_weights(model, std, seed)   normal(0, std) matrices, ones for norms, routers keep PyTorch's defaults
    config_from_state_dict(sd, **f)  sizes from tensor shapes (as `rmoe grads`), the rest from f
    with_router(c, router)

Example:
    from model import Config, MoEModel, init_weights
    m = init_weights(MoEModel(Config(router="rmoe")))
    total, ce, bal = m(tokens[:, :-1], tokens[:, 1:])
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

from rmoe_torch import ROUTERS, Config, init_weights  # noqa: E402,F401
from rmoe_torch import LanguageModel as MoEModel  # noqa: E402,F401


def config_from_state_dict(sd: dict, **fields) -> Config:
    """Sizes from tensor shapes (as `rmoe grads` does); heads, top_k, router, balance_coef... from `fields`."""
    return Config.infer(sd, **fields)


def with_router(c: Config, router: str) -> Config:
    return c.replace(router=router)
