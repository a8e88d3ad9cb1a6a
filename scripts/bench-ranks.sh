#!/bin/bash
# One machine, one config: 1 rank x 2 threads against 2 ranks x 1 thread (data parallel and expert
# parallel), over shared memory and over TCP on loopback, in interleaved rounds; prints a table of
# medians (min-max over the rounds). Ranks are launched with --bind-to none (Open MPI's default
# binds each rank to one core).
#   scripts/bench-ranks.sh                      # SMALL, smoe and rmoe, 3 rounds of 10 steps
#   ROUNDS=5 ROUTERS="rmoe" scripts/bench-ranks.sh --set experts=32
# Extra arguments go to every `rmoe bench ranks` (config options). RMOE_BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RMOE_BIN:-.build/release/rmoe}
ROUNDS=${ROUNDS:-3}
ROUTERS=${ROUTERS:-"smoe rmoe"}
[ -x "$BIN" ] || { echo "bench-ranks: no binary at $BIN; build it with 'swift build -c release' or set RMOE_BIN" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench-ranks: mpirun not found; install openmpi-bin (scripts/setup.sh does)" >&2; exit 1; }
MPI=(mpirun -np 2 --bind-to none --oversubscribe)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
out=$(mktemp)
for round in $(seq "$ROUNDS"); do
  for router in $ROUTERS; do
    "$BIN" bench ranks --json --threads 2 --router "$router" --transport shm "$@" >>"$out"
    for transport in shm tcp; do
      mca=(); [ "$transport" = tcp ] && mca=(--mca btl tcp,self)
      "${MPI[@]}" "${mca[@]}" "$BIN" bench ranks --json --threads 1 --router "$router" --transport "$transport" "$@" >>"$out"
      "${MPI[@]}" "${mca[@]}" "$BIN" bench ranks --json --threads 1 --router "$router" --transport "$transport" --expert-parallel "$@" >>"$out"
    done
  done
done
python3 - "$out" <<'EOF'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
groups = {}
for r in rows:
    key = (r["router"], r["mode"], r["ranks"], r["threads_per_rank"], r["transport"] if r["ranks"] > 1 else "-")
    groups.setdefault(key, []).append(r)
print("| router | mode | ranks x threads | transport | ms/step median (min-max over rounds) | vs 1x2 | communication share | MB sent/rank/step |")
print("|---|---|---|---|---|---|---|---|")
base = {k[0]: statistics.median(x["ms_median"] for x in v) for k, v in groups.items() if k[1] == "single"}
for k, v in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][4], kv[0][1])):
    ms = [x["ms_median"] for x in v]
    med = statistics.median(ms)
    share = statistics.median(x["communication_share"] for x in v)
    mb = statistics.median(x["bytes_sent_per_rank_per_step"] for x in v) / 1e6
    ratio = base[k[0]] / med if k[0] in base else float("nan")
    print(f"| {k[0]} | {k[1]} | {k[2]}x{k[3]} | {k[4]} | {med:.1f} ({min(ms):.1f}-{max(ms):.1f}) | {ratio:.2f}x | {100*share:.1f}% | {mb:.2f} |")
EOF
rm -f "$out"
