"""Speed comparison: PyTorch (CPU) against rmoe on the same model, configs and thread count.

Run:  ./run.sh [options]            (or: python3 compare.py [options])
      ./run.sh --configs tiny --rounds 2 --reps 3 --out /tmp/cmp.json

With any Python 3 it first makes its own virtual environment (default Benchmarks/pytorch/.venv)
with torch, safetensors and numpy: torch from the official CPU index
(pip install torch --index-url https://download.pytorch.org/whl/cpu); where that index cannot be
reached, a torch wheel from pip's own configured local wheels (--no-index), then plain
`pip install torch` (large: the CUDA build). It then re-runs itself inside that environment with
OMP_NUM_THREADS / MKL_NUM_THREADS set to --threads.

Then it runs parity.py's check (rmoe grads vs torch autograd) and prints its verdict, and times,
interleaved in rounds (torch, then rmoe, then the other order next round; each side measured while
the other is idle; PyTorch in this process, rmoe as a subprocess):
  - PyTorch eager training step: zero_grad(set_to_none=True), forward, backward,
    clip_grad_norm_(1.0) (rmoe's bench step clips too), fused AdamW step
  - PyTorch forward only (torch.no_grad, loss included)
  - the same two with torch.compile (expert dispatch left eager: its per-expert row counts are
    data-dependent shapes); skipped with a note when compiling fails (no compiler, offline, ...)
  - rmoe bench router --json --routers ... [--inference] --threads N --reps R --set <config>
Headline per (side, variant, router): median over rounds of each round's median step time;
min and max over all samples (rmoe reports min/max per run). Ratio = PyTorch / rmoe.
Prints a table with machine, date, torch version and threads; --out writes it all as JSON.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CONFIGS = {  # rmoe config fields; batch and seq_len included
    "small": dict(vocab=256, d_model=256, layers=8, heads=4, experts=16, top_k=4, expert_width=128, router_dim=64,
                  seq_len=256, batch=8),
    "tiny": dict(vocab=256, d_model=64, layers=4, heads=2, experts=8, top_k=2, expert_width=64, router_dim=32,
                 seq_len=64, batch=8),
    "medium": dict(vocab=256, d_model=512, layers=8, heads=8, experts=16, top_k=4, expert_width=256, router_dim=128,
                   seq_len=256, batch=8),
}


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch vs rmoe speed comparison (see the header of compare.py)")
    ap.add_argument("--configs", default="small,tiny,medium", help=f"comma-separated, from {','.join(CONFIGS)}")
    ap.add_argument("--routers", default="smoe,rmoe,rmoe-np")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions per side, router and round (default 3)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps per model before round 1 (default 2)")
    ap.add_argument("--round-warmup", type=int, default=1,
                    help="untimed steps before each timed batch, as rmoe bench warms up in every run (default 1)")
    ap.add_argument("--pause", type=float, default=0.5, help="seconds of idle between the two sides")
    ap.add_argument("--rmoe", default=os.environ.get("RMOE_BIN") or os.path.join(REPO, ".build", "release", "rmoe"))
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile variants")
    ap.add_argument("--skip-parity", action="store_true")
    ap.add_argument("--parity-configs", default="tiny,odd")
    ap.add_argument("--omp-wait-policy", choices=["PASSIVE", "ACTIVE"],
                    help="set OMP_WAIT_POLICY for the PyTorch side (libgomp spins by default, which "
                         "collapses when another process takes a core)")
    ap.add_argument("--venv", default=os.path.join(HERE, ".venv"))
    ap.add_argument("--out", help="write the results as JSON here")
    return ap.parse_args()


# ----------------------------------------------------------------------------- environment
def pip(py, *args, timeout=None):
    return subprocess.run([py, "-m", "pip", "install", "-q", *args], timeout=timeout).returncode == 0


def ensure_venv(venv: str) -> dict:
    py = os.path.join(venv, "bin", "python")
    info_path = os.path.join(venv, "rmoe-install.json")
    if os.path.exists(info_path):
        r = subprocess.run([py, "-c", "import torch, safetensors, numpy"], capture_output=True)
        if r.returncode == 0:
            return json.load(open(info_path))
    t0 = time.time()
    print(f"setting up {venv} ...", flush=True)
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    route = None
    try:
        if pip(py, "torch", "--index-url", CPU_INDEX, "--retries", "1", "--timeout", "30", timeout=1800):
            route = f"pip install torch --index-url {CPU_INDEX}"
    except subprocess.TimeoutExpired:
        pass
    if route is None and pip(py, "--no-index", "--no-deps", "torch"):
        v = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('torch'))"],
                           capture_output=True, text=True).stdout.strip()
        if pip(py, f"torch=={v}"):
            route = f"pip install --no-index --no-deps torch (local wheel {v}), then its dependencies from PyPI"
    if route is None and pip(py, "torch"):
        route = "pip install torch (PyPI)"
    if route is None or not pip(py, "safetensors", "numpy"):
        sys.exit("could not install torch/safetensors/numpy into " + venv + ": see pip's messages above")
    v = subprocess.run([py, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
    info = {"torch": v, "route": route, "install_seconds": round(time.time() - t0, 1),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    json.dump(info, open(info_path, "w"), indent=1)
    print(f"installed torch {v} in {info['install_seconds']} s via: {route}", flush=True)
    return info


def reexec_in_venv(args):
    """Run the rest in the venv with the thread env set before torch is imported."""
    venv = os.path.abspath(args.venv)
    env_ok = os.environ.get("OMP_NUM_THREADS") == str(args.threads) and \
        os.environ.get("OMP_WAIT_POLICY", "") == (args.omp_wait_policy or "")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv) and env_ok:
        return
    ensure_venv(venv)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env.pop("OMP_WAIT_POLICY", None)
    if args.omp_wait_policy:
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    py = os.path.join(venv, "bin", "python")
    os.execve(py, [py, os.path.abspath(__file__), *sys.argv[1:]], env)


# ----------------------------------------------------------------------------- measurement
def rmoe_bench(rmoe, cfg, routers, threads, reps, inference):
    cmd = [rmoe, "bench", "router", "--json", "--routers", ",".join(routers), "--threads", str(threads),
           "--reps", str(reps)]
    for k, v in cfg.items():
        cmd += ["--set", f"{k}={v}"]
    if inference:
        cmd.append("--inference")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}   # that knob is for torch only
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            o = json.loads(line)
            out[o["router"]] = o
    return out, " ".join(cmd)


class TorchRunner:
    """One model + fused AdamW; eager and (optionally) compiled step / forward closures."""

    def __init__(self, torch, model_mod, cfg: dict, router: str, compile_: bool, seed=0):
        self.torch = torch
        fields = {k: v for k, v in cfg.items() if k not in ("seq_len", "batch")}
        c = model_mod.Config(router=router, **fields)
        torch.manual_seed(seed)
        self.m = model_mod.init_weights(model_mod.MoEModel(c))
        t = torch.randint(0, c.vocab, (cfg["batch"], cfg["seq_len"] + 1))
        self.x, self.y = t[:, :-1].contiguous(), t[:, 1:].contiguous()
        try:
            self.opt = torch.optim.AdamW(self.m.parameters(), lr=1e-4, weight_decay=0.0, fused=True)
        except Exception:                       # older torch without fused CPU AdamW
            self.opt = torch.optim.AdamW(self.m.parameters(), lr=1e-4, weight_decay=0.0)
        self.fns = {"eager": self.m}
        if compile_:
            # the three routers and the grad/no-grad modes share the same code objects: allow more
            # compiled versions than the default 8 so no layer silently falls back to eager
            for knob in ("recompile_limit", "cache_size_limit"):
                if hasattr(torch._dynamo.config, knob):
                    setattr(torch._dynamo.config, knob, 64)
            for layer in self.m.layers:           # keep the data-dependent dispatch out of the graph
                if hasattr(layer, "moe"):
                    layer.moe.experts.forward = torch.compiler.disable(layer.moe.experts.forward)
            self.fns["compile"] = torch.compile(self.m)

    def step(self, variant):
        self.opt.zero_grad(set_to_none=True)
        loss, _, _ = self.fns[variant](self.x, self.y)
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.m.parameters(), 1.0)
        self.opt.step()

    def forward(self, variant):
        with self.torch.no_grad():
            self.fns[variant](self.x, self.y)

    def time(self, variant, mode, reps):
        fn = self.step if mode == "step" else self.forward
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(variant)
            out.append((time.perf_counter() - t0) * 1e3)
        return out


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def machine_info(torch, args, rmoe, install):
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    sha = hashlib.sha256(open(rmoe, "rb").read()).hexdigest()[:16]
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() != ""
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__, "torch_install": install,
            "threads": args.threads, "torch_num_threads": torch.get_num_threads(),
            "omp_wait_policy_torch": args.omp_wait_policy or "(default)",
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "rmoe_binary": args.rmoe, "rmoe_sha256_16": sha,
            "repo_rev": rev + (" (work tree modified)" if dirty else ""), "loadavg_start": os.getloadavg()}


def run_config(torch, model_mod, name, args, rmoe, log):
    cfg, routers = CONFIGS[name], args.routers.split(",")
    runners, variants, notes = {}, ["eager"], []
    for r in routers:
        runners[r] = TorchRunner(torch, model_mod, cfg, r, compile_=False)
    if not args.no_compile:
        try:
            t0 = time.time()
            for r in routers:
                cr = TorchRunner(torch, model_mod, cfg, r, compile_=True)
                for mode in ("step", "forward"):
                    cr.time("compile", mode, 1)
                runners[r + "/compile"] = cr
            variants.append("compile")
            notes.append(f"torch.compile of {len(routers)} routers, step and forward: {time.time() - t0:.0f} s")
        except Exception as e:   # no C++ compiler, no network for a dependency, unsupported op, ...
            notes.append(f"torch.compile skipped: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    for line in notes:
        log("  " + line)

    def runner(r, v):
        return runners[r + "/compile"] if v == "compile" else runners[r]
    for r in routers:                 # warm-up
        for v in variants:
            for mode in ("step", "forward"):
                runner(r, v).time(v, mode, args.warmup)
    samples = {}                      # (side, variant, mode, router) -> list of per-round lists
    cmds = {}
    for rnd in range(args.rounds):
        for mode in ("step", "forward"):
            order = ("torch", "rmoe") if rnd % 2 == 0 else ("rmoe", "torch")
            for side in order:
                if side == "torch":
                    for r in routers:
                        for v in variants:
                            runner(r, v).time(v, mode, args.round_warmup)
                            samples.setdefault(("torch", v, mode, r), []).append(runner(r, v).time(v, mode, args.reps))
                else:
                    res, cmds[mode] = rmoe_bench(rmoe, cfg, routers, args.threads, args.reps, mode == "forward")
                    for r in routers:
                        o = res[r]
                        samples.setdefault(("rmoe", "rmoe", mode, r), []).append(
                            {"median": o["ms_median"], "min": o["ms_min"], "max": o["ms_max"]})
                time.sleep(args.pause)
        log(f"  round {rnd + 1}/{args.rounds} done (load average {os.getloadavg()[0]:.2f})")
    rows = []
    tokens = cfg["batch"] * cfg["seq_len"]
    for (side, v, mode, r), rounds in samples.items():
        if side == "torch":
            med = median([median(x) for x in rounds])
            lo, hi = min(min(x) for x in rounds), max(max(x) for x in rounds)
        else:
            med = median([x["median"] for x in rounds])
            lo, hi = min(x["min"] for x in rounds), max(x["max"] for x in rounds)
        rows.append({"config": name, "side": side, "variant": v, "mode": mode, "router": r, "ms_median": med,
                     "ms_min": lo, "ms_max": hi, "tokens_per_s": tokens / med * 1e3, "round_samples": rounds})
    base = {(x["mode"], x["router"]): x["ms_median"] for x in rows if x["side"] == "rmoe"}
    for x in rows:
        x["ratio_torch_over_rmoe"] = x["ms_median"] / base[(x["mode"], x["router"])]
    return {"config": name, "fields": cfg, "rows": rows, "notes": notes, "rmoe_commands": cmds}


def print_table(res, log):
    log(f"\n{res['config'].upper()}  {res['fields']}")
    log(f"  {'mode':8s} {'router':8s} {'side':14s} {'median ms':>10s} {'min..max ms':>19s} {'tok/s':>8s} {'torch/rmoe':>10s}")
    order = {"rmoe": 0, "eager": 1, "compile": 2}
    for x in sorted(res["rows"], key=lambda x: (x["mode"] != "step", x["router"], order[x["variant"]])):
        side = "rmoe" if x["side"] == "rmoe" else f"torch {x['variant']}"
        ratio = "" if x["side"] == "rmoe" else f"{x['ratio_torch_over_rmoe']:.2f}x"
        log(f"  {x['mode']:8s} {x['router']:8s} {side:14s} {x['ms_median']:10.1f} "
            f"{x['ms_min']:9.1f}..{x['ms_max']:<9.1f} {x['tokens_per_s']:8.0f} {ratio:>10s}")


def main():
    args = parse_args()
    if args.out:   # checked before any measurement: a run of ten minutes must not end unable to write
        args.out = os.path.abspath(args.out)
        folder = os.path.dirname(args.out)
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            sys.exit(f"--out {args.out}: folder {folder} does not exist or is not writable: create it or pass another path")
    reexec_in_venv(args)
    import torch
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True          # no __pycache__ in the repo
    import model as model_mod
    import parity
    torch.set_num_threads(args.threads)
    if not os.path.exists(args.rmoe):
        sys.exit(f"rmoe binary not found at {args.rmoe}: build it (swift build -c release) or pass --rmoe")
    snap = tempfile.mkdtemp(prefix="rmoe-compare-")
    rmoe = shutil.copy2(args.rmoe, os.path.join(snap, "rmoe"))   # a rebuild during the run cannot change it
    install = json.load(open(os.path.join(args.venv, "rmoe-install.json"))) \
        if os.path.exists(os.path.join(args.venv, "rmoe-install.json")) else {}
    info = machine_info(torch, args, rmoe, install)
    log = lambda s="": print(s, flush=True)   # noqa: E731
    log(f"machine: {info['cpu']}, {info['cores']} cores, {info['os']}; {info['date']}")
    log(f"torch {info['torch']} ({install.get('route', 'installed before')}); threads {args.threads}; "
        f"OMP_WAIT_POLICY for torch: {info['omp_wait_policy_torch']}; rmoe {args.rmoe} (sha256 {info['rmoe_sha256_16']}), "
        f"repo {info['repo_rev']}; load average {info['loadavg_start'][0]:.2f}")
    if info["loadavg_start"][0] > 0.5:
        log("warning: the machine is not idle (load average above 0.5): both sides lose, libgomp-threaded torch most")
    result = {"machine": info, "args": vars(args), "configs": []}
    if not args.skip_parity:
        log("\nparity (rmoe grads vs torch autograd):")
        quiet = []
        p = parity.run_parity(rmoe, args.parity_configs.split(","), args.routers.split(",") + ["dense"],
                              args.threads, log=quiet.append)
        start = next(i for i, s in enumerate(quiet) if s.strip().startswith("parity summary"))
        for line in "\n".join(quiet[start:]).strip().splitlines():
            log("  " + line)
        result["parity"] = {"ok": p["ok"], "summary": [
            {k: r.get(k) for k in ("config", "router", "ok", "error")} |
            {"worst": {prec: c["worst_grad"] | {"loss_rel": c["scalars"]["loss"]["rel"]}
                       for prec, c in r.get("checks", {}).items()}} for r in p["results"]]}
    for name in args.configs.split(","):
        log(f"\ntiming {name} ...")
        res = run_config(torch, model_mod, name, args, rmoe, log)
        result["configs"].append(res)
        print_table(res, log)
    info["loadavg_end"] = os.getloadavg()
    log(f"\nload average at the end {info['loadavg_end'][0]:.2f}; "
        f"parity {'PASS' if result.get('parity', {}).get('ok') else 'FAIL' if 'parity' in result else 'skipped'}")
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(result, fh, indent=1)
        os.replace(tmp, args.out)   # whole or not at all
        log(f"wrote {args.out}")
    shutil.rmtree(snap, ignore_errors=True)


if __name__ == "__main__":
    main()
