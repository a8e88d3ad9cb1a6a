#!/bin/sh
# PyTorch vs rmoe: parity check, then the interleaved speed comparison (see compare.py's header).
# Creates Benchmarks/pytorch/.venv with torch on first use. Examples:
#   Benchmarks/pytorch/run.sh                                   # SMALL, TINY, MEDIUM, 2 threads, 3 rounds x 3 reps
#   Benchmarks/pytorch/run.sh --configs tiny --rounds 2 --out /tmp/cmp.json
#   RMOE_BIN=/tmp/rmoe-bin/rmoe Benchmarks/pytorch/run.sh --threads 1
# Paths (--out, RMOE_BIN, --venv) are taken relative to the caller's folder.
set -e
exec python3 "$(dirname "$0")/compare.py" "$@"
