"""Parity check: rmoe and PyTorch compute the same loss and gradients on the same weights and tokens.

For each config and router it builds random weights in PyTorch (normal(0, 0.02) matrices, ones for
norms, PyTorch default init for the router's Linear/GRUCell), saves them with safetensors (no
metadata) with a token file {"tokens": int32 [B, S+1]}, runs

    rmoe grads --checkpoint W --tokens TOK --out G --set router=R --set heads=H --set top_k=K \
               --set balance_coef=0.01 [--set router_bias=false] [--double]

and compares rmoe's loss/ce/balance and every gradient tensor of G with torch autograd: rmoe Float
against torch float32, and rmoe --double against torch float64 (same float32 weights, widened).
The torch float32 vs torch float64 gap is printed too: it is the float32 noise floor.

Per tensor: max abs difference, max |reference|, `rel` = max abs diff / max |reference| (the
float32 PASS criterion), and the largest elementwise relative difference with a floor of 1e-3
max|ref|. rmoe writes gradient files as F32 even with --double, so the float64 criterion
(`excess`) first allows each element its own float32 rounding (2^-24 |ref|).

The PyTorch model is the repository's rmoe_torch package (python/, through model.py), so --routers
takes any router rmoe has (smoe, random, smoe-mlp, cosine, xmoe, hyper, rmoe, rmoe-rnn, rmoe-np,
rmoe-detach, rmoe-np-r, hash, dense); python/check_routers.py checks trained checkpoints of each.

Run (inside the venv that compare.py/run.sh creates, or any Python with torch + safetensors):
    .venv/bin/python parity.py [--rmoe /tmp/rmoe-bin/rmoe] [--configs tiny,odd] [--routers smoe,rmoe,rmoe-np,dense]
Exit status 0 when everything passes. compare.py imports run_parity().
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True          # no __pycache__ in the repo
from model import Config, MoEModel, init_weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RMOE = os.environ.get("RMOE_BIN") or os.path.join(HERE, "..", "..", ".build", "release", "rmoe")

# name -> (model config, batch, seq_len)
CONFIGS = {
    "tiny": (Config(d_model=64, layers=4, heads=2, experts=8, top_k=2, expert_width=64, router_dim=32), 8, 64),
    # odd sizes, no router biases, k = 3
    "odd": (Config(vocab=97, d_model=96, layers=3, heads=3, experts=6, top_k=3, expert_width=40, router_dim=24,
                   router_bias=False), 3, 40),
    "small": (Config(), 8, 256),
}
# (loss relative, gradient rel-to-max) per precision
# (f64: the gradient files are F32, so the check allows each element its float32 rounding and
# then 1e-10 of the tensor's max magnitude; the loss values are printed in full double precision)
TOL = {"f32": (1e-5, 1e-3), "f64": (1e-10, 1e-10)}


def rmoe_grads(rmoe, ckpt, toks, out, cfg: Config, double: bool, threads: int):
    cmd = [rmoe, "grads", "--checkpoint", ckpt, "--tokens", toks, "--out", out, "--threads", str(threads),
           "--set", f"router={cfg.router}", "--set", f"heads={cfg.heads}", "--set", f"top_k={cfg.top_k}",
           "--set", f"balance_coef={cfg.balance_coef}", "--set", f"router_bias={str(cfg.router_bias).lower()}"]
    if double:
        cmd.append("--double")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n  failed ({r.returncode}): {r.stderr.strip()}")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line), load_file(out), cmd


def torch_grads(state, cfg: Config, tokens, dtype):
    m = MoEModel(cfg).to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    t = tokens.long()
    total, ce, bal = m(t[:, :-1], t[:, 1:])
    total.backward()
    g = {n: (p.grad if p.grad is not None else torch.zeros_like(p)).detach() for n, p in m.named_parameters()}
    return {"loss": total.item(), "ce": ce.item(), "balance": bal.item()}, g, m


@torch.no_grad()
def topk_margin(m: MoEModel, tokens) -> float:
    """Smallest gap between the k-th and (k+1)-th router logit over all tokens and layers: if it is
    near float32 rounding, the two sides may select different experts for that token."""
    if m.config.router == "dense" or m.config.top_k >= m.config.experts:
        return float("inf")
    m.logits(tokens.long()[:, :-1])          # every MoE layer keeps its router logits in moe.last_logits
    gap = float("inf")
    for layer in m.layers:
        v = torch.topk(layer.moe.last_logits, m.config.top_k + 1, dim=-1).values
        gap = min(gap, (v[:, -2] - v[:, -1]).min().item())
    return gap


def compare_tensors(ours: dict, ref: dict, tol: float, storage_f32: bool = False):
    """Rows (name, max_abs, max_ref, rel, elem_rel, crit, ok); missing/extra names are failures.
    crit = rel, except with storage_f32 (rmoe --double still writes F32 gradient files): then each
    element may first differ by its own float32 rounding, 2^-24 |ref|, and crit is the excess."""
    rows = []
    for n in sorted(set(ours) | set(ref)):
        if n not in ours or n not in ref:
            rows.append((n, float("nan"), float("nan"), float("inf"), float("inf"), float("inf"), False))
            continue
        a, b = ours[n].double(), ref[n].double()
        if a.shape != b.shape:
            rows.append((n + f" shape {tuple(a.shape)} vs {tuple(b.shape)}", *(float("inf"),) * 5, False))
            continue
        diff = (a - b).abs()
        max_abs, max_ref = diff.max().item(), b.abs().max().item()
        rel = max_abs / max_ref if max_ref > 0 else (0.0 if max_abs == 0 else float("inf"))
        floor = max(1e-3 * max_ref, 1e-300)
        elem_rel = (diff / b.abs().clamp_min(floor)).max().item() if max_abs > 0 else 0.0
        crit = rel
        if storage_f32:
            excess = (diff - 2.0 ** -24 * b.abs()).clamp_min(0).max().item()
            crit = excess / max_ref if max_ref > 0 else (0.0 if excess == 0 else float("inf"))
        rows.append((n, max_abs, max_ref, rel, elem_rel, crit, crit <= tol))
    return rows


def scalar_rows(ours: dict, ref: dict, tol: float):
    rows = []
    for k, key in (("loss", "loss"), ("ce", "ce"), ("balance", "balance_term")):
        a, b = float(ours[key]), float(ref[k])
        rel = abs(a - b) / max(abs(b), 1e-300)
        rows.append((k, a, b, rel, rel <= tol))
    return rows


def run_one(rmoe, name, cfg, B, S, router, threads, seed, work, log):
    cfg = replace(cfg, router=router)
    torch.manual_seed(seed)
    m = init_weights(MoEModel(cfg))
    state = {k: v.detach().contiguous() for k, v in m.state_dict().items()}
    tokens = torch.randint(0, cfg.vocab, (B, S + 1), dtype=torch.int32)
    ckpt, toks = os.path.join(work, f"{name}-{router}.safetensors"), os.path.join(work, f"{name}-{router}-tokens.safetensors")
    save_file(state, ckpt)
    save_file({"tokens": tokens.contiguous()}, toks)
    res = {"config": name, "router": router, "B": B, "S": S, **asdict(cfg), "checks": {}}
    t32, g32, m32 = torch_grads(state, cfg, tokens, torch.float32)
    t64, g64, _ = torch_grads(state, cfg, tokens, torch.float64)
    res["topk_margin"] = topk_margin(m32, tokens)
    ok_all = True
    for prec, double, (tref, gref) in (("f32", False, (t32, g32)), ("f64", True, (t64, g64))):
        ltol, gtol = TOL[prec]
        ours, gours, cmd = rmoe_grads(rmoe, ckpt, toks, os.path.join(work, f"{name}-{router}-{prec}-grads.safetensors"),
                                      cfg, double, threads)
        srows, grows = scalar_rows(ours, tref, ltol), compare_tensors(gours, gref, gtol, storage_f32=double)
        ok = all(r[-1] for r in srows) and all(r[-1] for r in grows)
        ok_all &= ok
        worst = max(grows, key=lambda r: r[5])
        res["checks"][prec] = {"ok": ok, "command": " ".join(cmd),
                               "scalars": {r[0]: {"rmoe": r[1], "torch": r[2], "rel": r[3]} for r in srows},
                               "grads": {r[0]: {"max_abs": r[1], "max_ref": r[2], "rel": r[3], "elem_rel": r[4], "crit": r[5]}
                                         for r in grows},
                               "worst_grad": {"name": worst[0], "rel": worst[3], "crit": worst[5]}}
        log(f"\n== {name} / {router} / rmoe {'--double' if double else 'Float'} vs torch {'float64' if double else 'float32'}"
            f"  (B={B}, S={S}, top-k margin {res['topk_margin']:.2e}): {'PASS' if ok else 'FAIL'}")
        for r in srows:
            log(f"   {r[0]:8s} rmoe {r[1]:.10g}  torch {r[2]:.10g}  rel {r[3]:.2e}  {'ok' if r[4] else 'FAIL'} (tol {ltol:g})")
        log(f"   {'tensor':42s} {'max_abs':>9s} {'max|ref|':>9s} {'rel':>9s} {'elem_rel':>9s}"
            + (f" {'excess':>9s}" if double else ""))
        for r in grows:
            log(f"   {r[0]:42s} {r[1]:9.2e} {r[2]:9.2e} {r[3]:9.2e} {r[4]:9.2e}" + (f" {r[5]:9.2e}" if double else "")
                + ("" if r[6] else " FAIL (tol %g)" % gtol))
    # float32 noise floor: torch float32 against torch float64
    floor = max(r[3] for r in compare_tensors(g32, g64, 1.0))
    res["torch_f32_vs_f64_worst_rel"] = floor
    log(f"   (torch float32 vs float64: worst gradient rel {floor:.2e}, loss rel "
        f"{abs(t32['loss'] - t64['loss']) / abs(t64['loss']):.2e})")
    res["ok"] = ok_all
    return res


def run_parity(rmoe=DEFAULT_RMOE, configs=("tiny", "odd"), routers=("smoe", "rmoe", "rmoe-np", "dense"),
               threads=2, seed=0, log=print, workdir=None):
    """Returns {"ok": bool, "results": [...]}; prints tables through `log`."""
    torch.set_num_threads(threads)
    results = []
    with tempfile.TemporaryDirectory(prefix="rmoe-parity-") as tmp:
        work = workdir or tmp
        os.makedirs(work, exist_ok=True)
        for name in configs:
            cfg, B, S = CONFIGS[name]
            for router in routers:
                try:
                    results.append(run_one(rmoe, name, cfg, B, S, router, threads, seed, work, log))
                except Exception as e:  # report and go on with the next case
                    log(f"\n== {name} / {router}: ERROR {e}")
                    results.append({"config": name, "router": router, "ok": False, "error": str(e)})
    ok = all(r["ok"] for r in results)
    log("\nparity summary:")
    for r in results:
        extra = "" if "error" in r else "  ".join(
            f"{p}: loss rel {c['scalars']['loss']['rel']:.1e}, worst grad {'excess' if p == 'f64' else 'rel'} "
            f"{c['worst_grad']['crit']:.1e} ({c['worst_grad']['name']})"
            for p, c in r["checks"].items())
        log(f"  {r['config']:6s} {r['router']:8s} {'PASS' if r['ok'] else 'FAIL'}  {extra}")
    log(f"parity verdict: {'PASS' if ok else 'FAIL'}")
    return {"ok": ok, "results": results}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rmoe", default=DEFAULT_RMOE, help="rmoe binary (default $RMOE_BIN or ../../.build/release/rmoe)")
    ap.add_argument("--configs", default="tiny,odd", help=f"comma-separated, from {','.join(CONFIGS)}")
    ap.add_argument("--routers", default="smoe,rmoe,rmoe-np,dense")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", help="keep the weight, token and gradient files here")
    ap.add_argument("--json", help="write the results as JSON here")
    a = ap.parse_args()
    r = run_parity(a.rmoe, a.configs.split(","), a.routers.split(","), a.threads, a.seed, workdir=a.workdir)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1)
    sys.exit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()
