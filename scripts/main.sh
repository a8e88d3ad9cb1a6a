#!/usr/bin/env bash
# The main job on its embedded default: a release build, then a short comparison sweep (smoe, rmoe
# and rmoe-np on a small model, about ten minutes on 2 cores) on the best corpus found:
# WikiText-2 bytes, else the synthetic corpus. Ends by printing the results table and where the
# plots are. Installs missing system packages first. Extra arguments go to `rmoe sweep`
# (e.g. --set steps=300 for a quicker look). Re-running it resumes / reuses finished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${RMOE_DATA:-}" ] && [ -d ../shared/data ]; then export RMOE_DATA="$(cd ../shared/data && pwd)"; fi
swift build -c release
corpus=synthetic
if .build/release/rmoe corpus list | grep -q "wikitext2-bytes  found"; then corpus=wikitext2-bytes; fi
exec .build/release/rmoe sweep main --set corpus="$corpus" --out "runs/main-$corpus" "$@"
