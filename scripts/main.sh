#!/usr/bin/env bash
# The main job on its embedded default: builds in release mode and trains a small dense model
# for a short while on WikiText-2 bytes (when found; else on the synthetic corpus), then prints
# the loss and BPC it reached. Installs missing system packages first.
# Extra arguments go to `rmoe train` (e.g. --steps 200).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${RMOE_DATA:-}" ] && [ -d ../shared/data ]; then export RMOE_DATA="$(cd ../shared/data && pwd)"; fi
swift build -c release
corpus=synthetic
if .build/release/rmoe corpus list | grep -q "wikitext2-bytes  found"; then corpus=wikitext2-bytes; fi
exec .build/release/rmoe train --corpus "$corpus" --router dense --layers 4 --steps 1200 --set lr=2e-3 \
  --set eval_every=300 --set final_eval_windows=1000 --out "runs/main-$corpus" --overwrite "$@"
