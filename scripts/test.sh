#!/usr/bin/env bash
# Builds and runs the whole test suite (Swift Testing). Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${RMOE_DATA:-}" ] && [ -d ../shared/data ]; then export RMOE_DATA="$(cd ../shared/data && pwd)"; fi
swift build --build-tests
swift test --skip-build --no-parallel "$@"
