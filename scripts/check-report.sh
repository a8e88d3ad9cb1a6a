#!/bin/bash
# Renders a sweep's report.html in headless Chromium (Debian's `chromium`; as root it needs
# --no-sandbox), checks that the page loads without script errors and that every inline figure
# has a size (the page's own #render-check), and saves a full-page screenshot.
#   scripts/check-report.sh results/ablation-bytes              # screenshot: results/ablation-bytes/report.png
#   scripts/check-report.sh results/ablation-bytes /tmp/shot.png
# Install the browser with: apt-get install -y chromium
set -euo pipefail
dir=${1:?usage: scripts/check-report.sh SWEEP_DIR [SCREENSHOT.png]}
page="$(cd "$dir" && pwd)/report.html"
shot=${2:-$dir/report.png}
[ -f "$page" ] || { echo "check-report: $page not found; build it with 'rmoe sweep --report $dir'" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "check-report: no chromium; install it with 'apt-get install -y chromium'" >&2; exit 1; }
flags=(--headless --disable-gpu --no-first-run --hide-scrollbars --virtual-time-budget=5000)
[ "$(id -u)" = 0 ] && flags+=(--no-sandbox)
log=$(mktemp)
dom=$("$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$page" 2>"$log")
status=$(printf '%s' "$dom" | grep -o 'id="render-check"[^>]*>[^<]*' | sed 's/.*>//')
errors=$(grep -E 'Uncaught|CONSOLE.*(Error|error)' "$log" || true)
rm -f "$log"
# The page's height decides the screenshot's.
"$browser" "${flags[@]}" --window-size=1280,6000 --screenshot="$shot" "file://$page" >/dev/null 2>&1
echo "$page: ${status:-no render-check in the DOM}"
[ -z "$errors" ] || { echo "script errors:"; echo "$errors"; }
echo "screenshot: $shot"
case "$status" in "render-check: ok"*) [ -z "$errors" ] ;; *) exit 1 ;; esac
