#!/bin/bash
# The performance numbers of the README's "Measured numbers" table in one run: SMALL step and
# forward with breakdowns and 1 -> 2 thread scaling, MEDIUM, TINY, E from 8 to 64 (with AdamW
# against a copy loop), and the trainer's tokens/s against the bench's. Every number is a
# timing: stop other work first. The PyTorch side is Benchmarks/pytorch/run.sh.
#   RMOE_BIN=.build/release/rmoe OUT=perf.log scripts/perf-block.sh
set -u
B=${RMOE_BIN:-.build/release/rmoe}
TR=${TMPDIR:-/tmp}/rmoe-perf-train
MEDIUM="--set d_model=512 --set heads=8 --set expert_width=256 --set router_dim=128"
TINY="--layers 4 --d-model 64 --heads 2 --seq-len 64 --batch 8 --set experts=8 --set top_k=2 --set expert_width=64 --set router_dim=32"
run() { echo "== \$ rmoe $*"; "$B" "$@" 2>&1; }
{
    echo "== binary: $("$B" --version), $(date -u)"
    for r in smoe rmoe; do run bench step --router $r --threads 1,2 --reps 5 --breakdown; done
    run bench step --router smoe --threads 2 --reps 5 --inference --breakdown
    for r in smoe rmoe; do run bench step --router $r --threads 2 --reps 3 --breakdown $MEDIUM; done
    for r in smoe rmoe; do run bench step --router $r --threads 1,2 --reps 30 --breakdown $TINY; done
    run bench experts --threads 2 --reps 5 --experts 8,16,64
    # Forward plus backward without the optimizer (gradient zeroing, clip, AdamW): the breakdown's
    # sum minus its optimizer line, 4 interleaved rounds (take the median of the rounds' ratios).
    for i in 1 2 3 4; do
        for e in 8 64; do run bench step --router smoe --threads 2 --reps 4 --breakdown --set experts=$e; done
    done
    for i in 1 2; do
        run bench step --router smoe --threads 2 --reps 10
        rm -rf "$TR"
        run train --corpus synthetic --router smoe --steps 60 --threads 2 --out "$TR" --quiet \
            --set eval_every=1000 --set checkpoint_every=1000 --set final_eval=false
        python3 -c 'import json, sys; f = json.load(open(sys.argv[1])); print("trainer tokens/s (training steps only):", f["tokens_per_s"])' "$TR/final.json"
    done
    echo "== done $(date -u)"
} | tee "${OUT:-/dev/null}"
