"""For every router of rmoe: an rmoe checkpoint loads into rmoe_torch (strict) and gives rmoe's loss.

For each case (every router that `rmoe routers` lists, dense included, each with the default
options, plus variants that cover the other expert kind, router_bias = false and the routers' own
options), it
  1. trains a tiny model for a few steps with rmoe (`rmoe train`, tiny sizes, --threads 1),
  2. loads the run's model.safetensors with `rmoe_torch.load` (config from the metadata, strict=True),
  3. evaluates the first --windows windows of --split with `rmoe eval` and with PyTorch on the same
     tokens (rmoe_torch.data reads the corpus files and cuts rmoe's EvalWindows), and compares the
     two losses (rmoe computes in Float; PyTorch in --dtype, float64 by default): the token counts
     must agree and |rmoe - torch| <= --tol * |rmoe| (default 1e-4; the differences are float32
     rounding, about 1e-9 relative, except where a token's k-th and (k+1)-th router logits nearly
     tie and float32 and float64 pick different experts: one such token among 32k moved the mean
     by 1.6e-7; a wrong router moves it by 1e-3 and more),
  4. unless --no-grads: runs `rmoe grads --double` on 4 windows of the split and compares, with
     PyTorch autograd in float64 on the same tokens, the loss, the cross-entropy and the balance
     term (relative, --grad-tol) and every parameter's gradient: rmoe writes F32 gradient files, so
     each element may first differ by its own float32 rounding 2^-24 |ref|; what exceeds that
     ("excess") must stay within --grad-tol of the tensor's largest magnitude. This checks the
     training semantics too (frozen tensors, detached paths, the balance loss's gradient).
     Residual and router dropout are set to 0 on both sides for this step (training mode).
Prints one table (router | rmoe loss | torch loss | |diff| | rel | eval ok, then the gradient
check's loss rel, worst plain gradient rel and worst excess | PASS/FAIL) and exits non-zero when
any case fails.

Run (any Python with torch, safetensors and numpy; see python/README.md):
    python python/check_routers.py --rmoe .build/release/rmoe [--data-dir DIR] [--routers smoe,rmoe]
The rmoe binary comes from --rmoe, else $RMOE_BIN, else .build/release/rmoe; the corpus
(wikitext2-bytes by default) from --data-dir, else $RMOE_DATA, else ./data or the repository's data/.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True          # no __pycache__ in the repository
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

import rmoe_torch as R  # noqa: E402

REPO = os.path.dirname(HERE)
DEFAULT_RMOE = os.environ.get("RMOE_BIN") or os.path.join(REPO, ".build", "release", "rmoe")

# The tiny model every case trains (rmoe config fields), and the short run around it.
TINY = dict(d_model=32, layers=3, heads=2, experts=4, top_k=2, expert_width=16, seq_len=32, batch=4,
            router_dim=8, mlp_dim=16, xmoe_dim=8, hyper_dim=16)
RUN = dict(lr=3e-3, warmup=5, final_eval="false", eval_every=0)

# (router, label, extra fields): variants beyond each router's defaults.
VARIANTS = [
    ("smoe", "relu experts", dict(expert="relu")),
    ("smoe", "router_bias=false", dict(router_bias="false")),
    ("smoe", "dropout=0.1", dict(dropout=0.1)),
    ("smoe-mlp", "mlp_out_bias=false, mlp_dropout=0.1", dict(mlp_out_bias="false", mlp_dropout=0.1)),
    ("smoe-mlp", "router_bias=false", dict(router_bias="false")),
    ("random", "relu experts", dict(expert="relu")),
    ("cosine", "cosine_form=code", dict(cosine_form="code")),
    ("cosine", "tau_init=1.0", dict(tau_init=1.0)),
    ("xmoe", "cosine_form=code", dict(cosine_form="code")),
    ("xmoe", "tau_init=0.1, xmoe_balance_tau=0.5, xmoe_dim=4", dict(tau_init=0.1, xmoe_balance_tau=0.5, xmoe_dim=4)),
    ("hyper", "relu experts, hyper_dim=8", dict(expert="relu", hyper_dim=8)),
    ("rmoe", "relu experts, router_bias=false", dict(expert="relu", router_bias="false")),
    ("rmoe", "router_dim=12, top_k=3", dict(router_dim=12, top_k=3)),
    ("rmoe-rnn", "router_bias=false", dict(router_bias="false")),
    ("rmoe-np-r", "np_residual=accumulated, alpha=1.0", dict(np_residual="accumulated", alpha=1.0)),
    ("rmoe-np-r", "np_residual_detach=true", dict(np_residual_detach="true")),
    ("hash", "relu experts, top_k=1", dict(expert="relu", top_k=1)),
    ("dense", "ffn_width=48", dict(ffn_width=48)),
]


def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()[-2000:]}")
    return r.stdout


def rmoe_routers(rmoe):
    """Router names of the binary's registry (`rmoe routers`: one `name  description` per line)."""
    return [ln.split()[0] for ln in run([rmoe, "routers"], "rmoe routers").splitlines() if ln.strip()]


def sets(fields):
    out = []
    for k, v in fields.items():
        out += ["--set", f"{k}={v}"]
    return out


def data_args(a):
    return ["--data-dir", a.data_dir] if a.data_dir else []


def train(a, router, fields, out):
    cmd = [a.rmoe, "train", "--router", router, "--corpus", a.corpus, "--steps", str(a.steps), "--threads", str(a.threads),
           "--out", out, "--overwrite", "--quiet", *data_args(a),
           *sets({**TINY, **RUN, "log_every": a.steps, "checkpoint_every": a.steps, **fields})]
    run(cmd, f"rmoe train ({router})")
    return os.path.join(out, "model.safetensors")


def rmoe_eval(a, ckpt):
    cmd = [a.rmoe, "eval", "--checkpoint", ckpt, "--split", a.split, "--windows", str(a.windows),
           "--threads", str(a.threads), *data_args(a)]
    line = [ln for ln in run(cmd, "rmoe eval").splitlines() if ln.startswith("{")][-1]
    return json.loads(line)


def grads_check(a, ckpt, cfg, tokens, work):
    """rmoe grads --double vs torch float64 autograd on 4 windows; returns a dict of results."""
    S, B = cfg.seq_len, 4
    rows = torch.stack([tokens[w * S:w * S + S + 1] for w in range(B)]).to(torch.int32)
    tok_path, out = os.path.join(work, "tokens.safetensors"), os.path.join(work, "grads.safetensors")
    save_file({"tokens": rows.contiguous()}, tok_path)
    no_dropout = {"dropout": 0.0, "mlp_dropout": 0.0}
    line = [ln for ln in run([a.rmoe, "grads", "--checkpoint", ckpt, "--tokens", tok_path, "--out", out, "--double",
                              "--threads", str(a.threads), *sets(no_dropout)], "rmoe grads").splitlines()
            if ln.startswith("{")][-1]
    ref, gref = json.loads(line), load_file(out)
    model, _ = R.load(ckpt, dtype=torch.float64, config=cfg.replace(**no_dropout))
    model.train()
    t = rows.long()
    res = model(t[:, :-1], t[:, 1:])
    res.loss.backward()
    scalars = {k: (float(ref[key]), getattr(res, k).item()) for k, key in (("loss", "loss"), ("ce", "ce"), ("balance", "balance_term"))}
    scalar_rel = max(abs(x - y) / max(abs(x), 1e-300) for x, y in scalars.values())
    worst, worst_name, worst_rel = 0.0, "", 0.0
    names = {n for n, _ in model.named_parameters()}
    if set(gref) != names:
        raise RuntimeError(f"gradient names differ: rmoe only {sorted(set(gref) - names)}, torch only {sorted(names - set(gref))}")
    for n, p in model.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        r = gref[n].double()
        diff = (g.detach() - r).abs()
        excess = (diff - 2.0 ** -24 * r.abs()).clamp_min(0).max().item()
        m = r.abs().max().item()
        crit = excess / m if m > 0 else (0.0 if excess == 0 else float("inf"))
        worst_rel = max(worst_rel, diff.max().item() / m if m > 0 else (0.0 if diff.max().item() == 0 else float("inf")))
        if crit > worst or not worst_name:
            worst, worst_name = crit, n
    ok = scalar_rel <= a.grad_tol and worst <= a.grad_tol
    return {"ok": ok, "scalars": scalars, "scalar_rel": scalar_rel, "worst_grad": worst, "worst_grad_name": worst_name,
            "worst_grad_rel": worst_rel}


def check_case(a, router, label, fields, tokens, dtype):
    work = os.path.join(a.workdir, (router + ("-" + label if label else "")).replace(" ", "").replace(",", "-").replace("=", ""))
    os.makedirs(work, exist_ok=True)
    res = {"router": router, "variant": label or "defaults", "fields": fields}
    ckpt = train(a, router, fields, os.path.join(work, "run"))
    model, cfg = R.load(ckpt, dtype=dtype)                       # strict=True
    assert cfg.router == router
    ev = rmoe_eval(a, ckpt)
    loss, count = R.evaluate(model, tokens, windows=a.windows)
    diff = abs(loss - ev["loss"])
    res.update(rmoe_loss=ev["loss"], torch_loss=loss, diff=diff, rel=diff / abs(ev["loss"]),
               rmoe_tokens=ev["tokens"], torch_tokens=count)
    res["eval_ok"] = count == ev["tokens"] and diff <= a.tol * abs(ev["loss"])
    if not a.no_grads:
        res["grads"] = grads_check(a, ckpt, cfg, tokens, work)
    res["ok"] = res["eval_ok"] and res.get("grads", {"ok": True})["ok"]
    return res


def case_name(r):
    return r["router"] + (f" [{r['variant']}]" if r["variant"] != "defaults" else "")


def print_table(results):
    """Markdown table: router | rmoe loss | torch loss | abs diff | rel | eval | grads... | result."""
    cols = [("router", max(len(case_name(r)) for r in results), "<"), ("rmoe loss", 14, ">"), ("torch loss", 14, ">"),
            ("abs diff", 8, ">"), ("rel", 7, ">"), ("eval", 4, "<"), ("grads: loss rel", 15, ">"),
            ("grad rel", 8, ">"), ("excess", 7, ">"), ("result", 6, "<")]

    def row(cells):
        return "| " + " | ".join(f"{c:{al}{w}s}" for c, (_, w, al) in zip(cells, cols)) + " |"
    print("\n" + row([c[0] for c in cols]))
    print("|" + "|".join("-" * (w + 2) for _, w, _ in cols) + "|")
    for r in results:
        if "error" in r:
            print(row([case_name(r), "error", "", "", "", "", "", "", "", "FAIL"]))
            continue
        g = r.get("grads")
        gcells = [f"{g['scalar_rel']:.1e}", f"{g['worst_grad_rel']:.1e}", f"{g['worst_grad']:.1e}"] if g else ["-"] * 3
        print(row([case_name(r), f"{r['rmoe_loss']:.10f}", f"{r['torch_loss']:.10f}", f"{r['diff']:.1e}", f"{r['rel']:.1e}",
                   "ok" if r["eval_ok"] else "FAIL", *gcells, "PASS" if r["ok"] else "FAIL"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rmoe", default=DEFAULT_RMOE, help="rmoe binary (default $RMOE_BIN or .build/release/rmoe)")
    ap.add_argument("--routers", help="comma-separated (default: every router `rmoe routers` lists)")
    ap.add_argument("--no-variants", action="store_true", help="only each router with its default options")
    ap.add_argument("--corpus", default="wikitext2-bytes", choices=R.data.CORPORA)
    ap.add_argument("--data-dir", default=None, help="folder holding the corpora (default $RMOE_DATA, ./data, data/)")
    ap.add_argument("--split", default="test", choices=R.data.SPLITS)
    ap.add_argument("--windows", type=int, default=128, help="evaluation windows (of seq_len 32 tokens)")
    ap.add_argument("--steps", type=int, default=20, help="training steps per case")
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"), help="PyTorch evaluation precision")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative tolerance of the evaluation loss (default 1e-4)")
    ap.add_argument("--no-grads", action="store_true", help="skip the rmoe grads --double check")
    ap.add_argument("--grad-tol", type=float, default=1e-8, help="tolerance of the float64 loss and gradient check")
    ap.add_argument("--threads", type=int, default=1, help="threads of rmoe and torch")
    ap.add_argument("--workdir", help="keep the runs here (default: a temporary folder)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if not os.path.isfile(a.rmoe):
        sys.exit(f"rmoe binary not found at {a.rmoe}: build it (swift build -c release) or pass --rmoe / set RMOE_BIN")
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    names = rmoe_routers(a.rmoe)
    unknown = [n for n in names if n not in R.ROUTERS]
    wanted = a.routers.split(",") if a.routers else names
    cases = [(r, "", {}) for r in wanted]
    if not a.no_variants:
        cases += [v for v in VARIANTS if v[0] in wanted]
    tokens = R.read_corpus(a.corpus, a.split, a.data_dir)
    tmp = None
    if not a.workdir:
        tmp = tempfile.TemporaryDirectory(prefix="rmoe-check-routers-")
        a.workdir = tmp.name
    print(f"rmoe {a.rmoe}; torch {torch.__version__} ({a.dtype}); {a.corpus} {a.split}, first {a.windows} windows; "
          f"{a.steps} training steps of {TINY}", flush=True)
    results, t0 = [], time.time()
    for router, label, fields in cases:
        try:
            if router in unknown:
                raise RuntimeError(f"rmoe lists router {router!r} but rmoe_torch does not implement it")
            results.append(check_case(a, router, label, fields, tokens, dtype))
        except Exception as e:      # report and go on with the next case
            results.append({"router": router, "variant": label or "defaults", "ok": False, "error": str(e)})
        r = results[-1]
        print(f"  {case_name(r)}: {'PASS' if r['ok'] else 'FAIL'}" + (f" ({r['error']})" if "error" in r else ""), flush=True)

    print_table(results)
    failed = [r for r in results if not r["ok"]]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed  "
          f"(eval tolerance {a.tol:g} relative; grads tolerance {a.grad_tol:g}; {time.time() - t0:.0f} s)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"args": vars(a), "results": results}, fh, indent=1, default=str)
    if tmp:
        tmp.cleanup()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
