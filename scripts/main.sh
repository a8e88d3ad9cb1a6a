#!/usr/bin/env bash
# The main job on its embedded default: a release build, then a short comparison sweep (smoe, rmoe
# and rmoe-np on a small model, about ten minutes on 2 cores) on WikiText-2 bytes: found on the
# search path, else fetched into ./data (`rmoe corpus fetch wikitext2`, verified), else (no network)
# the synthetic corpus, said plainly. RMOE_CORPUS_BASE_URL fetches from a mirror (e.g. a local
# server: http://127.0.0.1:PORT). Ends by printing the results table and where the
# plots are. Installs missing system packages first. Extra arguments go to `rmoe sweep`
# (e.g. --set steps=300 for a quicker look). Re-running it resumes / reuses finished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${RMOE_DATA:-}" ] && [ -d ../shared/data ]; then export RMOE_DATA="$(cd ../shared/data && pwd)"; fi
swift build -c release
corpus=synthetic
if .build/release/rmoe corpus list | grep -q "wikitext2-bytes  found"; then
  corpus=wikitext2-bytes
elif .build/release/rmoe corpus fetch wikitext2 --dir data ${RMOE_CORPUS_BASE_URL:+--base-url "$RMOE_CORPUS_BASE_URL"}; then
  corpus=wikitext2-bytes
else
  echo "main: WikiText-2 is not on the search path and could not be fetched (see the line above);" >&2
  echo "main: running on the SYNTHETIC corpus instead: its numbers say nothing about language data." >&2
fi
exec .build/release/rmoe sweep main --set corpus="$corpus" --out "runs/main-$corpus" "$@"
